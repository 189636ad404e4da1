"""Write ``finetune/data/customer_service/logs/chats.jsonl``: past chats about the AeroPure 3, messy on purpose.

The file is shipped; this script is how it was made, so the mess is known and the cleaning report can be checked
against it. It is deterministic (seeded): ``python examples/customer_service/make_logs.py`` rewrites the same file.

What real help-desk exports have and this one has too: greetings and thanks as turns of their own, very short turns
("ok", "?"), off-topic questions, personal data (names, phone numbers, e-mail addresses, order ids, postal
addresses), conversations exported twice, the same question retyped with small differences, and a few agent
answers that are wrong or outdated (a 1-year warranty, a 12-month filter, a 14-day return window, an error code
the product does not have), which only a comparison with the manual reveals.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "finetune" / "data" / "customer_service" / "logs" / "chats.jsonl"
SEED = 16

# (customer phrasings, agent answer) per topic and language; every figure in an answer is in the manual or FAQ.
TOPICS_EN: list[tuple[list[str], str]] = [
    (
        [
            "How often do I need to change the filter?",
            "how often should the filter be replaced",
            "When do I replace the AF-3 filter?",
        ],
        "Replace the AF-3 filter every 6 months, or sooner when the Filter light turns red.",
    ),
    (
        ["How much is a replacement filter?", "what does a new AF-3 filter cost?"],
        "A replacement AF-3 filter costs $39 in our online store and in the app.",
    ),
    (
        [
            "The filter light is still red after I put in a new filter. How do I reset it?",
            "how do i reset the filter light",
        ],
        "Hold the Filter button for 5 seconds until the Filter light goes off; that resets the filter timer.",
    ),
    (
        ["Can I wash the filter in water?", "Is the filter washable?"],
        "Only the pre-filter can be washed: rinse or vacuum it every 2 weeks and let it dry completely. Never wash "
        "the HEPA or carbon layers.",
    ),
    (
        ["Will it work in a 35 square meter living room?", "what room size is the AeroPure 3 good for?"],
        "Yes, the AeroPure 3 suits rooms up to 40 m² (430 sq ft), with a CADR of 320 m³/h.",
    ),
    (
        ["Is it loud at night?", "how noisy is the purifier in sleep mode"],
        "In Sleep mode it runs at 22 dB, about as quiet as a whisper; in Turbo mode it reaches 52 dB.",
    ),
    (
        [
            "The app can't find my purifier, what do I do?",
            "I can't pair the purifier with the app",
            "app does not find the device",
        ],
        "The purifier connects to 2.4 GHz Wi-Fi only. Hold the Wi-Fi button for 3 seconds until the light blinks "
        "blue, keep the phone within 5 m of the purifier and try again.",
    ),
    (
        ["Can my wife also control it from her phone?", "can several people use the app for one purifier"],
        "Yes, up to 8 family members can share one purifier in the AeroPure Home app.",
    ),
    (
        ["How long is the warranty?", "what warranty does the AeroPure 3 have"],
        "The AeroPure 3 has a 2-year warranty from delivery covering defects in materials and workmanship; filters "
        "are not covered.",
    ),
    (
        ["Can I return it if I don't like it?", "what is the return policy"],
        "You can return it within 30 days of delivery for a full refund, even if you used it. Start the return in "
        "the app under Orders.",
    ),
    (
        ["When do I get my refund?", "how long does the refund take"],
        "We refund within 5 business days after the returned purifier reaches our warehouse and passes inspection.",
    ),
    (
        ["How long does shipping take?", "when will my purifier arrive"],
        "Standard shipping takes 3-5 business days and is free on orders over $99; express takes 1-2 business days "
        "for $12.",
    ),
    (
        ["My purifier shows E1, what does that mean?", "error E1 on the display"],
        "E1 is a fan motor fault. Unplug the purifier for 1 minute and plug it in again; if E1 comes back, open a "
        "warranty ticket in the app.",
    ),
    (
        ["It says E2 and won't start", "new purifier shows E2"],
        "E2 means the filter is missing or not seated. Check that the AF-3 filter is in place with its plastic bag "
        "removed and that the cover is closed until it clicks.",
    ),
    (
        ["What does E3 mean?", "display shows E3"],
        "E3 is a PM2.5 sensor fault. Clean the sensor lens with a dry cotton swab; if E3 stays, contact support.",
    ),
    (
        ["The purifier shows E5 and turned off", "what is error E5"],
        "E5 means overheating. Unplug the purifier, let it cool for 30 minutes and make sure the air inlet is not "
        "blocked.",
    ),
    (
        ["How do I turn on the child lock?", "how to lock the buttons so my kid can't change settings"],
        "Hold the Timer button for 3 seconds to turn the child lock on or off; the lock icon lights up while it is on.",
    ),
    (
        ["The light ring is red all the time even though the room is clean", "air quality light always red"],
        "Red means PM2.5 above 75 µg/m³. If it stays red in a clean room, clean the PM2.5 sensor lens with a dry "
        "cotton swab.",
    ),
    (
        ["Does it work with Alexa?", "can I use google assistant with it"],
        "Yes, the AeroPure 3 works with Amazon Alexa and Google Assistant once it is connected in the AeroPure Home "
        "app.",
    ),
    (
        ["Can I cancel my order?", "I want to change my delivery address"],
        "You can change the address or cancel within 2 hours of placing the order, in the app under Orders; after "
        "that the order is packed and can only be returned once it arrives.",
    ),
]

TOPICS_ZH: list[tuple[list[str], str]] = [
    (
        ["滤网多久换一次？", "滤网要多长时间更换", "AF-3滤网几个月换"],
        "AF-3 滤网每 6 个月更换一次；滤网灯变红时也需要更换。",
    ),
    (["替换滤网多少钱？", "新滤网价格是多少"], "官方商城和 App 中的 AF-3 替换滤网售价 199 元一片。"),
    (
        ["换了新滤网，滤网灯还是红的，怎么重置？", "滤网灯怎么复位"],
        "装好新滤网后，长按滤网键 5 秒，直到滤网灯熄灭即可重置。",
    ),
    (
        ["滤网可以用水洗吗？", "滤网能不能洗"],
        "只有初效滤网可以水洗，每 2 周清洗一次并完全晾干；HEPA 层和活性炭层切勿水洗。",
    ),
    (["30平米的客厅能用吗？", "适用面积多大"], "可以，AeroPure 3 适用面积最大 40 平方米，CADR 为 320 m³/h。"),
    (["晚上开着吵不吵？", "睡眠模式噪音大吗"], "睡眠模式下只有 22 分贝，像耳语一样安静；强力模式下为 52 分贝。"),
    (
        ["App搜不到净化器怎么办？", "配网一直失败", "手机连不上净化器"],
        "净化器只支持 2.4 GHz Wi-Fi。请长按 Wi-Fi 键 3 秒直到灯闪烁蓝色，让手机靠近净化器 5 米以内再试。",
    ),
    (
        ["家里人可以一起用App控制吗？", "能不能多人共享"],
        "可以，一台净化器最多可以在 AeroPure Home App 中共享给 8 位家庭成员。",
    ),
    (["保修多久？", "质保期是多长时间"], "自签收之日起保修 2 年，保修范围为材料和工艺缺陷，滤网不在保修范围内。"),
    (
        ["不喜欢可以退吗？", "退货政策是什么"],
        "签收后 30 天内可以申请退货并全额退款，使用过也可以退，请在 App 的“订单”中发起。",
    ),
    (["退款多久到账？", "退款什么时候能到"], "退回的净化器到达仓库并验收通过后，我们会在 5 个工作日内原路退款。"),
    (["发货后几天能到？", "什么时候能收到货"], "国内订单使用顺丰配送，一般 1-3 天送达，全部包邮。"),
    (
        ["显示E1是什么意思？", "屏幕上出现E1"],
        "E1 表示风机故障。拔下电源 1 分钟后重新插上；如果 E1 再次出现，请在 App 中提交保修工单。",
    ),
    (
        ["显示E2开不了机", "新机器一开就显示E2"],
        "E2 表示滤网未安装或未装好。请检查 AF-3 滤网是否就位、塑料袋是否取下、底盖是否盖紧。",
    ),
    (
        ["E3是什么故障？", "显示E3怎么办"],
        "E3 表示 PM2.5 传感器故障。用干棉签清洁传感器镜头；如果 E3 仍然存在，请联系客服。",
    ),
    (["净化器显示E5然后关机了", "E5是什么问题"], "E5 表示过热保护。请拔下电源，冷却 30 分钟，并检查进风口是否被堵住。"),
    (["童锁怎么开？", "怎么锁住按键防止小孩乱按"], "长按定时键 3 秒可开启或关闭童锁，童锁开启时锁形图标亮起。"),
    (
        ["房间很干净但灯一直是红色", "空气质量灯老是红的"],
        "红色表示 PM2.5 超过 75 µg/m³。如果房间干净灯仍然是红色，请用干棉签清洁 PM2.5 传感器。",
    ),
    (
        ["支持小爱同学吗？", "能用天猫精灵控制吗"],
        "支持。在 AeroPure Home App 中联网后，可以使用小爱同学和天猫精灵控制。",
    ),
    (
        ["下单后还能取消吗？", "我想改收货地址"],
        "下单后 2 小时内可以在 App 的“订单”中修改地址或取消订单；超过 2 小时只能收货后退货。",
    ),
]

# Outdated or wrong answers (the AeroPure 2's warranty, a made-up error code, ...): each contradicts the docs.
WRONG: list[tuple[str, str, str]] = [
    ("en", "How long is the warranty?", "The warranty is 1 year from the date of purchase."),
    ("en", "How often should I change the filter?", "You should replace the filter every 12 months."),
    ("en", "What is your return policy?", "You can return the purifier within 14 days if it is unused."),
    ("en", "My purifier shows E6, what is that?", "E6 means the water tank is empty; refill it and restart."),
    ("en", "How much is express shipping?", "Express shipping costs $20 and takes 1-2 business days."),
    ("zh", "保修多久？", "保修期为 1 年，从购买之日起计算。"),
    ("zh", "滤网多久换一次？", "滤网建议 12 个月更换一次。"),
    ("zh", "可以退货吗？", "支持 15 天无理由退货，商品需未使用。"),
    ("zh", "替换滤网多少钱？", "替换滤网售价 249 元。"),
]

NAMES_EN = ["Jane Doe", "Mark Lee", "Emily Carter", "David Brown", "Sofia Martinez", "Tom Wilson"]
NAMES_ZH = ["王小明", "李娜", "张伟", "刘芳", "陈静", "赵磊"]
SURNAMES_ZH = ["王", "李", "张", "刘", "陈", "赵"]
PHONES_EN = ["(415) 555-0134", "415-555-0178", "+1 415 555 0199", "212.555.0147"]
PHONES_ZH = ["13812345678", "139 1234 5678", "+86 137-2233-4455", "15900001111"]
EMAILS = ["jane.doe@gmail.com", "mark_lee88@yahoo.com", "e.carter@outlook.com", "wang.xm@163.com", "lina2020@qq.com"]
ADDRESSES_EN = [
    "1428 Elm Street, Springfield, IL 62704",
    "77 Ocean Ave, Apt 5, San Diego, CA 92101",
    "350 Fifth Avenue, New York, NY 10118",
]
ADDRESSES_ZH = ["北京市朝阳区建国路88号", "上海市浦东新区世纪大道100号3栋502室", "广东省深圳市南山区科技园路1号"]

GREETINGS_EN = ["Hi", "Hello", "Hello there!", "hi", "Good morning"]
GREETINGS_ZH = ["你好", "您好", "在吗？", "哈喽", "你好！"]
THANKS_EN = ["Thanks!", "thank you", "Great, thanks a lot.", "ok thanks", "Thank you so much!"]
THANKS_ZH = ["谢谢", "好的，谢谢！", "感谢", "多谢", "谢谢你"]
SHORT_EN = ["ok", "?", "yes", "hmm", "k"]
SHORT_ZH = ["嗯", "好", "？", "哦", "行"]
OFF_TOPIC_EN = [
    "Do you guys sell phones too?",
    "What's the weather like in Boston today?",
    "Can you recommend a good vacuum cleaner from another brand?",
    "Are you hiring?",
]
OFF_TOPIC_ZH = ["你们卖手机吗？", "今天北京天气怎么样？", "你们公司在招人吗？", "推荐一款别的牌子的扫地机器人"]
AGENT_HELLO_EN = ["Hello! How can I help you today?", "Hi, thanks for contacting AeroPure support."]
AGENT_HELLO_ZH = ["您好，请问有什么可以帮您？", "您好，这里是 AeroPure 客服。"]
AGENT_BYE_EN = ["You're welcome, have a nice day!", "Happy to help!"]
AGENT_BYE_ZH = ["不客气，祝您生活愉快！", "很高兴为您服务！"]
AGENT_OFF_EN = "Sorry, I can only help with questions about AeroPure products."
AGENT_OFF_ZH = "抱歉，我只能解答 AeroPure 产品相关的问题。"


def _pii_prefix(rng: random.Random, language: str) -> str:
    """A sentence of personal data a customer adds before the question, or nothing."""
    kind = rng.choice(["none", "none", "name", "phone", "email", "order", "address"])
    if language == "en":
        return {
            "none": "",
            "name": f"My name is {rng.choice(NAMES_EN)}. ",
            "phone": f"You can call me at {rng.choice(PHONES_EN)}. ",
            "email": f"My email is {rng.choice(EMAILS)}. ",
            "order": f"Order #AP{rng.randrange(10**9, 10**10)}. ",
            "address": f"I live at {rng.choice(ADDRESSES_EN)}. ",
        }[kind]
    return {
        "none": "",
        "name": f"我叫{rng.choice(NAMES_ZH)}，",
        "phone": f"我的手机号是{rng.choice(PHONES_ZH)}，",
        "email": f"我的邮箱是{rng.choice(EMAILS)}，",
        "order": f"订单号AP{rng.randrange(10**9, 10**10)}，",
        "address": f"我家地址是{rng.choice(ADDRESSES_ZH)}，",
    }[kind]


def _conversation(rng: random.Random, language: str, question: str, answer: str) -> list[dict[str, str]]:
    en = language == "en"
    turns: list[dict[str, str]] = []
    if rng.random() < 0.6:
        turns.append({"role": "customer", "text": rng.choice(GREETINGS_EN if en else GREETINGS_ZH)})
        turns.append({"role": "agent", "text": rng.choice(AGENT_HELLO_EN if en else AGENT_HELLO_ZH)})
    if rng.random() < 0.15:
        turns.append({"role": "customer", "text": rng.choice(OFF_TOPIC_EN if en else OFF_TOPIC_ZH)})
        turns.append({"role": "agent", "text": AGENT_OFF_EN if en else AGENT_OFF_ZH})
    turns.append({"role": "customer", "text": _pii_prefix(rng, language) + question})
    if rng.random() < 0.15:
        turns.append({"role": "customer", "text": rng.choice(SHORT_EN if en else SHORT_ZH)})
    if rng.random() < 0.2:
        name = rng.choice(NAMES_EN).split()[0] if en else rng.choice(SURNAMES_ZH) + rng.choice(["先生", "女士"])
        answer = (f"Hi {name}, " if en else f"{name}您好，") + answer
    turns.append({"role": "agent", "text": answer})
    if rng.random() < 0.7:
        turns.append({"role": "customer", "text": rng.choice(THANKS_EN if en else THANKS_ZH)})
        turns.append({"role": "agent", "text": rng.choice(AGENT_BYE_EN if en else AGENT_BYE_ZH)})
    return turns


def _near_copy(rng: random.Random, text: str) -> str:
    """The same question retyped: a changed ending, doubled punctuation or different case."""
    choice = rng.randrange(3)
    if choice == 0:
        return text.rstrip("?？") + ("??" if text.isascii() else "？？")
    if choice == 1:
        return text.lower() if text.isascii() else text + "。"
    return "  " + text.upper() if text.isascii() else text.replace("？", "?")


def build(seed: int = SEED) -> list[dict[str, object]]:
    """Every conversation, in the order they are written."""
    rng = random.Random(seed)
    chats: list[dict[str, object]] = []
    for language, topics in (("en", TOPICS_EN), ("zh", TOPICS_ZH)):
        for questions, answer in topics:
            for question in questions:
                chats.append({"language": language, "turns": _conversation(rng, language, question, answer)})
            near = _near_copy(rng, questions[0])
            chats.append({"language": language, "turns": _conversation(rng, language, near, answer)})
    for language, question, answer in WRONG:
        chats.append({"language": language, "turns": _conversation(rng, language, question, answer)})
    for language in ("en", "zh"):  # conversations that are only chit-chat or off-topic
        for text in OFF_TOPIC_EN if language == "en" else OFF_TOPIC_ZH:
            agent = AGENT_OFF_EN if language == "en" else AGENT_OFF_ZH
            chats.append(
                {"language": language, "turns": [{"role": "customer", "text": text}, {"role": "agent", "text": agent}]}
            )
    rng.shuffle(chats)
    exported_twice = rng.sample(range(len(chats)), k=len(chats) // 10)
    for index in sorted(exported_twice):
        chats.append(json.loads(json.dumps(chats[index])))
    for number, chat in enumerate(chats, start=1):
        chat["id"] = f"c{number:04d}"
    return [{"id": chat["id"], "language": chat["language"], "turns": chat["turns"]} for chat in chats]


def main() -> None:
    """Write the file and say how much is in it."""
    chats = build()
    OUT.write_text("".join(json.dumps(chat, ensure_ascii=False) + "\n" for chat in chats), encoding="utf-8")
    turns = sum(len(chat["turns"]) for chat in chats)  # type: ignore[arg-type]
    print(f"{OUT}: {len(chats)} conversations, {turns} turns")


if __name__ == "__main__":
    main()
