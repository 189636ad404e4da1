"""Fixed reference data of the demo warehouse: regions, cities, categories, brands, channels, reasons.

Regions and cities are real (the seven customary regions of mainland China and their major cities, with the
usual city-tier labels); brands are invented. Weights are relative shares, not calibrated statistics.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AGE_BANDS",
    "CATEGORIES",
    "CHANNELS",
    "CITIES",
    "GENDERS",
    "PAYMENT_METHODS",
    "REFUND_REASONS",
    "REGIONS",
    "STATUSES",
]

# (code, Chinese name, English name)
REGIONS: Final = (
    ("east", "华东", "East China"),
    ("north", "华北", "North China"),
    ("south", "华南", "South China"),
    ("central", "华中", "Central China"),
    ("southwest", "西南", "Southwest China"),
    ("northwest", "西北", "Northwest China"),
    ("northeast", "东北", "Northeast China"),
)

# (Chinese name, English name, region code, tier)
CITIES: Final = (
    ("上海", "Shanghai", "east", "Tier 1"),
    ("杭州", "Hangzhou", "east", "New Tier 1"),
    ("南京", "Nanjing", "east", "New Tier 1"),
    ("苏州", "Suzhou", "east", "New Tier 1"),
    ("宁波", "Ningbo", "east", "New Tier 1"),
    ("合肥", "Hefei", "east", "New Tier 1"),
    ("青岛", "Qingdao", "east", "New Tier 1"),
    ("济南", "Jinan", "east", "Tier 2"),
    ("福州", "Fuzhou", "east", "Tier 2"),
    ("厦门", "Xiamen", "east", "Tier 2"),
    ("无锡", "Wuxi", "east", "Tier 2"),
    ("南昌", "Nanchang", "east", "Tier 2"),
    ("温州", "Wenzhou", "east", "Tier 2"),
    ("北京", "Beijing", "north", "Tier 1"),
    ("天津", "Tianjin", "north", "New Tier 1"),
    ("石家庄", "Shijiazhuang", "north", "Tier 2"),
    ("太原", "Taiyuan", "north", "Tier 2"),
    ("呼和浩特", "Hohhot", "north", "Tier 3+"),
    ("保定", "Baoding", "north", "Tier 3+"),
    ("广州", "Guangzhou", "south", "Tier 1"),
    ("深圳", "Shenzhen", "south", "Tier 1"),
    ("东莞", "Dongguan", "south", "New Tier 1"),
    ("佛山", "Foshan", "south", "New Tier 1"),
    ("南宁", "Nanning", "south", "Tier 2"),
    ("珠海", "Zhuhai", "south", "Tier 2"),
    ("海口", "Haikou", "south", "Tier 3+"),
    ("武汉", "Wuhan", "central", "New Tier 1"),
    ("长沙", "Changsha", "central", "New Tier 1"),
    ("郑州", "Zhengzhou", "central", "New Tier 1"),
    ("洛阳", "Luoyang", "central", "Tier 3+"),
    ("宜昌", "Yichang", "central", "Tier 3+"),
    ("成都", "Chengdu", "southwest", "New Tier 1"),
    ("重庆", "Chongqing", "southwest", "New Tier 1"),
    ("昆明", "Kunming", "southwest", "Tier 2"),
    ("贵阳", "Guiyang", "southwest", "Tier 2"),
    ("拉萨", "Lhasa", "southwest", "Tier 3+"),
    ("西安", "Xi'an", "northwest", "New Tier 1"),
    ("兰州", "Lanzhou", "northwest", "Tier 2"),
    ("乌鲁木齐", "Urumqi", "northwest", "Tier 2"),
    ("银川", "Yinchuan", "northwest", "Tier 3+"),
    ("西宁", "Xining", "northwest", "Tier 3+"),
    ("沈阳", "Shenyang", "northeast", "Tier 2"),
    ("大连", "Dalian", "northeast", "Tier 2"),
    ("长春", "Changchun", "northeast", "Tier 2"),
    ("哈尔滨", "Harbin", "northeast", "Tier 2"),
)

TIER_WEIGHTS: Final = {"Tier 1": 10.0, "New Tier 1": 5.0, "Tier 2": 2.5, "Tier 3+": 1.0}

# (Chinese name, English name, median list price CNY, log-sigma, refund probability, popularity, brands)
CATEGORIES: Final = (
    ("数码", "Electronics", 600.0, 0.9, 0.06, 1.0, ("Voltix", "Nebula", "Kestrel")),
    ("手机", "Phones", 2600.0, 0.5, 0.05, 0.6, ("Orbit", "Lumina", "Zephyr")),
    ("家电", "Home Appliances", 1100.0, 0.8, 0.05, 0.7, ("Homewell", "Frostline", "Aurelio")),
    ("服装", "Apparel", 160.0, 0.6, 0.18, 1.6, ("Linen & Loom", "Urbanfold", "Maple Row")),
    ("鞋靴", "Shoes", 320.0, 0.5, 0.15, 0.9, ("Stridecraft", "Pathway", "Ember Lane")),
    ("美妆", "Beauty", 190.0, 0.7, 0.07, 1.2, ("Petalis", "Glowmere", "Silkroot")),
    ("食品饮料", "Food & Beverage", 58.0, 0.6, 0.02, 1.5, ("Harvest Bay", "Jade Hill", "Goldgrain")),
    ("母婴", "Mother & Baby", 150.0, 0.7, 0.05, 0.8, ("Little Oak", "Cradlecare", "Nestling")),
    ("家居", "Home & Living", 120.0, 0.8, 0.08, 1.0, ("Hearthly", "Woodnote", "Calmhouse")),
    ("运动户外", "Sports & Outdoors", 260.0, 0.8, 0.10, 0.7, ("Summit Gear", "Rivertrail", "Pacewell")),
    ("图书", "Books", 45.0, 0.4, 0.02, 0.6, ("Inkwell Press", "Bamboo Books", "Lantern House")),
    ("宠物", "Pet Supplies", 85.0, 0.6, 0.03, 0.5, ("Pawsome", "Whisker Co", "Tailwind Pets")),
)

# (code, Chinese name, English name, share at start, share at end, cancellation probability)
CHANNELS: Final = (
    ("app", "App", "Mobile App", 0.42, 0.38, 0.030),
    ("web", "网页", "Website", 0.16, 0.10, 0.045),
    ("mini_program", "小程序", "Mini Program", 0.22, 0.27, 0.030),
    ("live_stream", "直播", "Live Stream", 0.06, 0.15, 0.060),
    ("offline_store", "线下门店", "Offline Store", 0.14, 0.10, 0.010),
)

PAYMENT_METHODS: Final = ("alipay", "wechat_pay", "credit_card", "union_pay", "cash")

# Probability of each payment method per channel, rows in CHANNELS order, columns in PAYMENT_METHODS order.
PAYMENT_BY_CHANNEL: Final = (
    (0.45, 0.35, 0.12, 0.08, 0.00),
    (0.50, 0.15, 0.25, 0.10, 0.00),
    (0.05, 0.90, 0.03, 0.02, 0.00),
    (0.40, 0.45, 0.10, 0.05, 0.00),
    (0.30, 0.35, 0.15, 0.10, 0.10),
)

STATUSES: Final = ("completed", "cancelled", "refunded")

GENDERS: Final = (("female", 0.54), ("male", 0.43), ("unknown", 0.03))

# (label, share, oldest birth year, youngest birth year); ages as of the demo's reference year 2025.
AGE_BANDS: Final = (
    ("18-24", 0.20, 2001, 2007),
    ("25-34", 0.38, 1991, 2000),
    ("35-44", 0.24, 1981, 1990),
    ("45-54", 0.12, 1971, 1980),
    ("55+", 0.06, 1950, 1970),
)

REFUND_REASONS: Final = (
    "quality_issue",
    "wrong_size",
    "not_as_described",
    "changed_mind",
    "late_delivery",
    "damaged_in_transit",
)

# Relative weight of each refund reason for size-sensitive categories (apparel, shoes) and for the rest.
REASONS_SIZED: Final = (0.15, 0.45, 0.15, 0.17, 0.05, 0.03)
REASONS_OTHER: Final = (0.35, 0.00, 0.22, 0.23, 0.10, 0.10)
