"""Fixed reference data of the logistics warehouse: hubs, segments, industries, service levels, teams, vehicles.

Hub cities and regions are real (mainland China's customary regions); hub names, teams and customers are invented.
Weights and rates are relative shares chosen to look plausible, not calibrated statistics.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ATTEMPT_OUTCOMES",
    "CLAIM_STATUSES",
    "CLAIM_TYPES",
    "EMPLOYMENT_TYPES",
    "FAILED_OUTCOME_WEIGHTS",
    "HUBS",
    "INDUSTRIES",
    "LANE_TYPES",
    "REGIONS",
    "SEGMENTS",
    "SERVICE_LEVELS",
    "STATUSES",
    "TEAMS",
    "VEHICLE_TYPES",
]

# (code, Chinese name, English name, delivery difficulty: extra lateness probability)
REGIONS: Final = (
    ("east", "华东", "East China", 0.00),
    ("north", "华北", "North China", 0.01),
    ("south", "华南", "South China", 0.00),
    ("central", "华中", "Central China", 0.02),
    ("southwest", "西南", "Southwest China", 0.04),
    ("northwest", "西北", "Northwest China", 0.07),
    ("northeast", "东北", "Northeast China", 0.05),
)

# (hub code, Chinese name, English name, city zh, city en, region code, hub type, volume weight)
HUBS: Final = (
    ("SHA01", "上海青浦转运中心", "Shanghai Qingpu Hub", "上海", "Shanghai", "east", "sorting_center", 10.0),
    ("SHA02", "上海浦东营业部", "Shanghai Pudong Station", "上海", "Shanghai", "east", "delivery_station", 6.0),
    ("HGH01", "杭州萧山转运中心", "Hangzhou Xiaoshan Hub", "杭州", "Hangzhou", "east", "sorting_center", 8.0),
    ("NKG01", "南京江宁营业部", "Nanjing Jiangning Station", "南京", "Nanjing", "east", "delivery_station", 4.0),
    ("SZV01", "苏州工业园营业部", "Suzhou Industrial Park Station", "苏州", "Suzhou", "east", "delivery_station", 4.0),
    ("HFE01", "合肥经开营业部", "Hefei Economic Zone Station", "合肥", "Hefei", "east", "delivery_station", 2.5),
    ("TAO01", "青岛城阳营业部", "Qingdao Chengyang Station", "青岛", "Qingdao", "east", "delivery_station", 2.5),
    ("XMN01", "厦门集美营业部", "Xiamen Jimei Station", "厦门", "Xiamen", "east", "delivery_station", 2.0),
    ("PEK01", "北京顺义转运中心", "Beijing Shunyi Hub", "北京", "Beijing", "north", "sorting_center", 9.0),
    ("PEK02", "北京朝阳营业部", "Beijing Chaoyang Station", "北京", "Beijing", "north", "delivery_station", 5.0),
    ("TSN01", "天津武清营业部", "Tianjin Wuqing Station", "天津", "Tianjin", "north", "delivery_station", 3.0),
    (
        "SJW01",
        "石家庄正定营业部",
        "Shijiazhuang Zhengding Station",
        "石家庄",
        "Shijiazhuang",
        "north",
        "delivery_station",
        1.8,
    ),
    ("TYN01", "太原小店营业部", "Taiyuan Xiaodian Station", "太原", "Taiyuan", "north", "delivery_station", 1.2),
    ("CAN01", "广州白云转运中心", "Guangzhou Baiyun Hub", "广州", "Guangzhou", "south", "sorting_center", 9.5),
    ("SZX01", "深圳宝安营业部", "Shenzhen Bao'an Station", "深圳", "Shenzhen", "south", "delivery_station", 7.0),
    ("DGG01", "东莞虎门营业部", "Dongguan Humen Station", "东莞", "Dongguan", "south", "delivery_station", 3.5),
    ("NNG01", "南宁江南营业部", "Nanning Jiangnan Station", "南宁", "Nanning", "south", "delivery_station", 1.5),
    ("WUH01", "武汉东西湖转运中心", "Wuhan Dongxihu Hub", "武汉", "Wuhan", "central", "sorting_center", 5.0),
    ("CSX01", "长沙望城营业部", "Changsha Wangcheng Station", "长沙", "Changsha", "central", "delivery_station", 3.0),
    ("CGO01", "郑州航空港转运中心", "Zhengzhou Airport Hub", "郑州", "Zhengzhou", "central", "sorting_center", 4.0),
    ("CTU01", "成都双流转运中心", "Chengdu Shuangliu Hub", "成都", "Chengdu", "southwest", "sorting_center", 5.0),
    ("CKG01", "重庆渝北营业部", "Chongqing Yubei Station", "重庆", "Chongqing", "southwest", "delivery_station", 3.5),
    ("KMG01", "昆明官渡营业部", "Kunming Guandu Station", "昆明", "Kunming", "southwest", "delivery_station", 1.8),
    ("XIY01", "西安临潼转运中心", "Xi'an Lintong Hub", "西安", "Xi'an", "northwest", "sorting_center", 3.0),
    ("LHW01", "兰州七里河营业部", "Lanzhou Qilihe Station", "兰州", "Lanzhou", "northwest", "delivery_station", 0.9),
    (
        "URC01",
        "乌鲁木齐米东营业部",
        "Urumqi Midong Station",
        "乌鲁木齐",
        "Urumqi",
        "northwest",
        "delivery_station",
        0.8,
    ),
    ("SHE01", "沈阳于洪转运中心", "Shenyang Yuhong Hub", "沈阳", "Shenyang", "northeast", "sorting_center", 2.5),
    ("DLC01", "大连甘井子营业部", "Dalian Ganjingzi Station", "大连", "Dalian", "northeast", "delivery_station", 1.5),
    ("HRB01", "哈尔滨道里营业部", "Harbin Daoli Station", "哈尔滨", "Harbin", "northeast", "delivery_station", 1.4),
)

# (code, Chinese name, share of accounts, volume per account, price factor)
SEGMENTS: Final = (
    ("key_account", "大客户", 0.04, 40.0, 0.80),
    ("sme", "中小商家", 0.36, 4.0, 1.00),
    ("individual", "个人寄件", 0.60, 0.25, 1.25),
)

# (code, Chinese name, share, median weight kg, claim factor)
INDUSTRIES: Final = (
    ("ecommerce", "电商", 0.34, 1.2, 1.0),
    ("apparel", "服装", 0.16, 0.8, 0.6),
    ("electronics", "3C数码", 0.12, 1.5, 2.2),
    ("fresh_food", "生鲜食品", 0.10, 3.0, 2.6),
    ("pharma", "医药", 0.06, 0.6, 1.2),
    ("documents", "文件", 0.10, 0.2, 0.4),
    ("manufacturing", "制造业", 0.12, 8.0, 1.4),
    ("personal", "个人", 0.00, 1.0, 0.8),  # individual senders only
)

# (code, Chinese name, share 2024, share 2025, promised days same region, promised days other regions,
#  base fee CNY, fee per extra kg CNY, base on-time probability, cost factor)
SERVICE_LEVELS: Final = (
    ("same_day", "当日达", 0.06, 0.09, 0, 0, 22.0, 4.0, 0.90, 1.45),
    ("express", "次日达", 0.30, 0.34, 1, 2, 12.0, 2.6, 0.94, 1.15),
    ("standard", "标准快递", 0.50, 0.45, 2, 3, 9.0, 1.6, 0.91, 0.90),
    ("economy", "经济快递", 0.14, 0.12, 3, 5, 6.5, 1.0, 0.86, 0.70),
)

LANE_TYPES: Final = ("intra_city", "intra_region", "inter_region")

STATUSES: Final = ("delivered", "in_transit", "returned", "lost", "cancelled")

# (code, Chinese name, share)
TEAMS: Final = (
    ("falcon", "飞鹰组", 0.24),
    ("panda", "熊猫组", 0.22),
    ("tiger", "猛虎组", 0.20),
    ("crane", "仙鹤组", 0.18),
    ("dragon", "青龙组", 0.16),
)

EMPLOYMENT_TYPES: Final = (("full_time", 0.62), ("contractor", 0.38))

# (code, capacity kg, purchase price CNY, share)
VEHICLE_TYPES: Final = (
    ("e_tricycle", 300, 9_000, 0.45),
    ("van", 1_200, 120_000, 0.30),
    ("light_truck", 3_000, 210_000, 0.18),
    ("heavy_truck", 12_000, 520_000, 0.07),
)

ATTEMPT_OUTCOMES: Final = ("success", "recipient_absent", "address_issue", "refused", "rescheduled")
# Relative weight of each failed outcome (ATTEMPT_OUTCOMES after "success").
FAILED_OUTCOME_WEIGHTS: Final = (0.52, 0.18, 0.12, 0.18)

CLAIM_TYPES: Final = ("damage", "loss", "delay")

CLAIM_STATUSES: Final = ("approved", "rejected", "pending")
