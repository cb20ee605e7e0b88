"""Redaction: a worker's number, IDs, email and name never reach a monitor; the facts do.

Every number here is invented (random digits, or the fictional UK 07700 900xxx and US 555-01xx
ranges); none belongs to a person.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
import unicodedata
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from intake.pipeline.evaluate import leaked, load_evaluation_set
from intake.pipeline.redact import DATA_FILE, redact
from intake.pipeline.types import DEFAULT_LANGUAGES, Redaction

# --- helpers -----------------------------------------------------------------------------------


def ascii_digits(text: str) -> str:
    """All decimal digits of a text, in any script, as one ASCII string."""
    return "".join(str(unicodedata.decimal(c)) for c in text if c.isdecimal())


def assert_hidden(number: str, redaction: Redaction, run: int = 7) -> None:
    """No `run` consecutive digits of `number` survive anywhere in the redacted text."""
    digits = ascii_digits(number)
    left = ascii_digits(redaction.text)
    run = min(run, len(digits))
    for start in range(len(digits) - run + 1):
        assert digits[start : start + run] not in left, (number, redaction.text)


def hides(text: str, secret: str, kind: str, regions: tuple[str, ...] = ()) -> Redaction:
    """Redact `text`, check `secret` is gone and a `kind` placeholder took its place."""
    assert secret in text
    result = redact(text, regions=regions)
    assert secret not in result.text, result.text
    assert f"[{kind}]" in result.text, result.text
    assert result.counts.get(kind, 0) >= 1
    return result


# --- phone numbers -----------------------------------------------------------------------------

PHONES = [
    # (regions, text, number as written)
    (("CN",), "我的电话13812345678请联系我", "13812345678"),
    (("CN",), "电话：138 1234 5678，晚上打", "138 1234 5678"),
    (("CN",), "打+86 139-2718-4405找我", "+86 139-2718-4405"),
    (("CN",), "手机１３８１２３４５６７８", "１３８１２３４５６７８"),
    (("CN",), "座机010-6271 3394", "010-6271 3394"),
    (("TH",), "โทร 081-234-5678 ได้ตลอด", "081-234-5678"),
    (("TH",), "เบอร์๐๘๑๒๓๔๕๖๗๘ค่ะ", "๐๘๑๒๓๔๕๖๗๘"),
    (("TH",), "ติดต่อ +66 92 417 3058 นะครับ", "+66 92 417 3058"),
    (("VN",), "Số của tôi 0912 345 678 nhé", "0912 345 678"),
    (("VN",), "goi 0987.654.321 giup em", "0987.654.321"),
    (("VN",), "sdt +84 386 271 905", "+84 386 271 905"),
    (("MY",), "Call saya 012-3456789 lepas kerja", "012-3456789"),
    (("MY",), "no tel 011-2847 3906", "011-2847 3906"),
    (("MY",), "WhatsApp +6019 417 2285", "+6019 417 2285"),
    (("ID",), "hp 0812-3456-7890 tolong", "0812-3456-7890"),
    (("ID",), "WA 081398764521", "081398764521"),
    (("ID",), "nomor 0062 857 2190 4413", "0062 857 2190 4413"),
    (("MX",), "Mi cel es 55 1234 5678", "55 1234 5678"),
    (("MX",), "llámame al +52 33 1846 2790", "+52 33 1846 2790"),
    (("CZ",), "Moje číslo je 601 123 456", "601 123 456"),
    (("CZ",), "volejte +420 732 418 905", "+420 732 418 905"),
    (("PH",), "Tawagan mo ako sa 0917 123 4567", "0917 123 4567"),
    (("PH",), "cp ko 0928-417-3306", "0928-417-3306"),
    (("PH",), "text me +63 995 214 8870", "+63 995 214 8870"),
    (("NP",), "मेरो फोन 9841234567 हो", "9841234567"),
    (("NP",), "phone ९८०१२३४५६७", "९८०१२३४५६७"),
    (("NP",), "call +977-980-2471365", "+977-980-2471365"),
    (("BD",), "আমার ফোন ০১৭১২৩৪৫৬৭৮", "০১৭১২৩৪৫৬৭৮"),
    (("BD",), "phone 01812-345678", "01812-345678"),
    (("IN",), "call me on 98765 43210", "98765 43210"),
    (("IN",), "फोन +91 81234 56789", "+91 81234 56789"),
    (("IN", "LK"), "என் எண் 077 123 4567", "077 123 4567"),
    (("KH",), "លេខទូរស័ព្ទ 012 345 678", "012 345 678"),
    (("KH",), "ទូរស័ព្ទ ០៩៧៦៥៤៣២១០", "០៩៧៦៥៤៣២១០"),
    (("MM",), "ဖုန်း ၀၉၄၂၁၇၃၀၈၅၁ ပါ", "၀၉၄၂၁၇၃၀၈၅၁"),
    (("MM",), "ဖုန်းနံပါတ် 09 4217 3085", "09 4217 3085"),
    (("GB",), "ring me on 07700 900123", "07700 900123"),
    (("GB",), "call +44 7700 900461 after 8", "+44 7700 900461"),
    (("US",), "my cell (201) 555-0123", "(201) 555-0123"),
    (("US",), "call 1-201-555-0187", "1-201-555-0187"),
    ((), "text +1 201 555 0148 anytime", "+1 201 555 0148"),
    (("TH", "MY"), "call 0066 81 234 5678", "0066 81 234 5678"),
]


@pytest.mark.parametrize(("regions", "text", "number"), PHONES)
def test_phone_numbers_are_hidden(regions: tuple[str, ...], text: str, number: str) -> None:
    result = hides(text, number, "PHONE", regions)
    assert_hidden(number, result)


def test_chinese_mobile_inside_chinese_text_keeps_the_words_around_it() -> None:
    result = redact("电话13812345678请", regions=("CN", "MY"))
    assert result.text == "电话[PHONE]请"
    assert result.counts == {"PHONE": 1}


def test_burmese_letter_wa_typed_for_zero_is_read_as_a_digit() -> None:
    # "ဝ" (the letter wa) looks like "၀" (zero) and is often typed in its place.
    result = redact("ဖုန်း ဝ၉၂၁၂၃၄၅၆၇", regions=("MM",))
    assert "[PHONE]" in result.text or "[ID]" in result.text
    assert "၂၁၂၃၄၅၆၇" not in result.text


def test_phone_number_without_regions_is_hidden_anyway() -> None:
    result = redact("call 0812345678 tonight")
    assert_hidden("0812345678", result)


def test_unknown_or_lower_case_regions_are_tolerated() -> None:
    result = redact("打13812345678找我", regions=("cn", "XX", ""))
    assert result.text == "打[PHONE]找我"


def test_counts_say_how_many_of_each_kind_were_hidden() -> None:
    result = redact("call 081-234-5678 or 089-765-4321, mail a.b@example.com", regions=("TH",))
    assert result.counts == {"PHONE": 2, "EMAIL": 1}


def test_stray_long_digit_run_is_hidden() -> None:
    result = redact("ref 4829 1736 55 from the agent")
    assert_hidden("4829173655", result)


# --- ID numbers --------------------------------------------------------------------------------

IDS = [
    # (what, text, ID as written)
    ("CN resident ID", "我的身份证号44030619870412731X", "44030619870412731X"),
    ("CN resident ID", "身份证 440306198704127315 被收走了", "440306198704127315"),
    ("TH national ID", "บัตรประชาชน 3-1052-48816-27-4", "3-1052-48816-27-4"),
    ("TH national ID", "เลขบัตร3105248816274ค่ะ", "3105248816274"),
    ("MY NRIC", "IC saya 910523-10-5327", "910523-10-5327"),
    ("MY NRIC", "no ic 910523105327", "910523105327"),
    ("VN CCCD", "CCCD 001203012345 bị giữ", "001203012345"),
    ("ID NIK", "NIK 3174052808910004", "3174052808910004"),
    ("MX CURP", "mi CURP es GOMR920714MJCRRS05", "GOMR920714MJCRRS05"),
    ("MX INE", "clave de elector GMRRSR92071414M300", "GMRRSR92071414M300"),
    ("CZ birth number", "rodné číslo 915312/4417", "915312/4417"),
    ("CZ birth number, old", "RČ 455102/093", "455102/093"),
    ("PH PhilSys card", "PhilSys 6831-2047-5519-0362", "6831-2047-5519-0362"),
    ("PH PhilSys PSN", "PSN 4472 9315 8806", "4472 9315 8806"),
    ("PH UMID", "UMID 0111-7384029-5", "0111-7384029-5"),
    ("PH SSS", "SSS ko 34-2719054-8", "34-2719054-8"),
    ("PH SSS bare", "SSS 3427190548", "3427190548"),
    ("NP citizenship", "नागरिकता नं 27-01-74-03518", "27-01-74-03518"),
    ("BD NID 10", "NID 2847195306", "2847195306"),
    ("BD NID 13", "এনআইডি 9273815640218", "9273815640218"),
    ("BD NID 17", "NID 19912694075318426", "19912694075318426"),
    ("IN Aadhaar", "Aadhaar 5821 7730 4196", "5821 7730 4196"),
    ("IN Aadhaar bare", "aadhar no 582177304196", "582177304196"),
    ("IN PAN", "PAN BQKPM4827H", "BQKPM4827H"),
    ("passport", "they keep my passport E73920518", "E73920518"),
    ("passport", "护照G4820713被老板拿走", "G4820713"),
    ("passport", "passport no. ea0583316", "ea0583316"),
    ("MX RFC", "mi RFC es PEHJ880917AB4, no pagan", "PEHJ880917AB4"),
    ("MM NRC romanised", "NRC 5/MaYaNa(N)071934 ကို ကုမ္ပဏီ သိမ်းထားတယ်", "5/MaYaNa(N)071934"),
    ("MM NRC Burmese", "မှတ်ပုံတင် ၅/မရန(နိုင်)၀၇၁၉၃၄ ပါ", "၅/မရန(နိုင်)၀၇၁၉၃၄"),
    ("TH pink card", "บัตรชมพู 0-0273-41869-05-2 นายจ้างยึดไว้", "0-0273-41869-05-2"),
]


@pytest.mark.parametrize(("what", "text", "number"), IDS, ids=[i[0] for i in IDS])
def test_id_numbers_are_hidden(what: str, text: str, number: str) -> None:
    result = redact(text, regions=("CN", "TH", "MY"))
    assert number not in result.text, (what, result.text)
    assert "[ID]" in result.text or "[PHONE]" in result.text, (what, result.text)
    assert_hidden(number, result, run=4)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("CURP GOMR920714MJCRRS05", "GOMR920714MJCRRS05"),
        ("PAN BQKPM4827H", "BQKPM4827H"),
        ("passport E73920518", "E73920518"),
        ("IC 910523-10-5327", "910523-10-5327"),
        ("身份证44030619870412731X", "44030619870412731X"),
        ("RFC PEHJ880917AB4", "PEHJ880917AB4"),
        ("NRC 5/MaYaNa(N)071934", "5/MaYaNa(N)071934"),
        ("บัตรชมพู 0-0273-41869-05-2", "0-0273-41869-05-2"),
    ],
)
def test_structured_ids_are_labelled_as_ids(text: str, number: str) -> None:
    assert redact(text).counts == {"ID": 1}


def test_every_id_example_in_the_data_file_is_hidden() -> None:
    with DATA_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    fewest = data["numbers"]["min_id_digits"]
    for entry in data["id_formats"]:
        for example in entry["examples"]:
            assert len(ascii_digits(example)) >= fewest, entry["name"]
            result = redact(f"my number is {example} ok")
            assert result.text == "my number is [ID] ok", (entry["name"], result.text)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("工号A12345，干了三年", "A12345"),
        ("badge no. 40217 line 3", "40217"),
        ("mã nhân viên: NV2718", "NV2718"),
        ("no pekerja 88123", "88123"),
        ("número de empleado 5521", "5521"),
    ],
)
def test_badge_numbers_are_hidden(text: str, number: str) -> None:
    hides(text, number, "ID")


# --- chat-app accounts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "account"),
    [
        ("ไลน์ไอดี: somsak.k ค่ะ", "somsak.k"),
        ("แอดไลน์ wanida_88 ได้เลยค่ะ", "wanida_88"),
        ("zalo id: thanh.hoa93 nhe", "thanh.hoa93"),
        ("fb: minh.tran.92", "minh.tran.92"),
        ("微信号 lihua_2024 联系我", "lihua_2024"),
        ("follow @tuan_nguyen please", "@tuan_nguyen"),
        ("zalo cua em la hoa_92", "hoa_92"),
    ],
)
def test_chat_account_names_are_hidden(text: str, account: str) -> None:
    hides(text, account, "ID")


@pytest.mark.parametrize(
    "text",
    [
        "facebook group of workers",
        "they post on facebook page every day",
        "line B2 is hot, line 7 too",
        "ไลน์ B2 ร้อนมาก",
        "status facebook kamu",
    ],
)
def test_words_after_an_app_name_are_not_accounts(text: str) -> None:
    assert redact(text).text == text


# --- emails ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    ["maria.santos88@example.com", "nguyen_lan+work@mail.example.vn", "siti-a@example.co.id"],
)
def test_emails_are_hidden(email: str) -> None:
    hides(f"write to {email}, thanks", email, "EMAIL")


def test_email_inside_chinese_text_is_hidden() -> None:
    result = redact("邮箱wangwei2718@example.cn谢谢")
    assert result.text == "邮箱[EMAIL]谢谢"


# --- names -------------------------------------------------------------------------------------

NAMES = [
    # (language, text, name, a word after the name that must stay)
    ("en", "Hello, my name is Maria Santos and I work in line 7", "Maria Santos", "work"),
    ("en", "my name is joy reyes please help us", "joy reyes", "help"),
    ("en", "Hi this is Ana from dorm B", "Ana", "dorm"),
    ("en", "I am called Rosa, we are not paid", "Rosa", "paid"),
    ("en", "I'm Dilip Rai from line 4", "Dilip Rai", "line"),
    ("zh", "我叫王小明，在三号线干活", "王小明", "三号线"),
    ("zh", "我的名字是李娜。加班太多", "李娜", "加班"),
    ("zh", "我是张伟，今年二十岁", "张伟", "今年"),
    ("zh", "我是欧阳娜娜在包装部", "欧阳娜娜", "包装部"),
    ("zh", "我姓陈，在宿舍住", "陈", "宿舍"),
    ("zh", "我叫小红在二号线", "小红", "二号线"),
    ("th", "ผมชื่อสมชาย ใจดี ทำงานที่โรงงาน", "สมชาย", "ทำงาน"),
    ("th", "ดิฉันชื่อ มาลี ค่ะ หัวหน้าด่า", "มาลี", "หัวหน้า"),
    ("th", "ชื่อ สมหญิง ทำงานกะดึก", "สมหญิง", "ทำงาน"),
    ("th", "หนูชื่อว่าน้ำฝนค่ะ", "น้ำฝน", "ค่ะ"),
    ("vi", "Tên tôi là Nguyễn Thị Lan, làm ở xưởng may", "Nguyễn Thị Lan", "xưởng"),
    ("vi", "tôi tên là Trần Văn Bình và bị phạt", "Trần Văn Bình", "phạt"),
    ("vi", "toi ten la tran van binh lam o xuong 3", "tran van binh", "xuong"),
    ("ms", "Nama saya Siti binti Ahmad, kerja di kilang", "Siti binti Ahmad", "kilang"),
    ("ms", "saya Aminah dari Nepal", "Aminah", "Nepal"),
    ("id", "nama saya dewi lestari kerja di pabrik", "dewi lestari", "pabrik"),
    ("id", "Saya Budi, gaji belum dibayar", "Budi", "gaji"),
    ("ta", "என் பெயர் முருகன், வேலை அதிகம்", "முருகன்", "வேலை"),
    ("ta", "en peyar Murugan, velai athigam", "Murugan", "velai"),
    ("es", "Me llamo María de la Cruz y trabajo en la línea 3", "María de la Cruz", "trabajo"),
    ("es", "Mi nombre es José Luis Pérez, no nos pagan", "José Luis Pérez", "pagan"),
    ("es", "Soy Lupita, trabajo en la línea 3", "Lupita", "trabajo"),
    ("cs", "Jmenuji se Jana Nováková a pracuji na lince", "Jana Nováková", "pracuji"),
    ("cs", "Dobrý den, jsem Petr z Ukrajiny", "Petr", "Ukrajiny"),
    ("km", "ខ្ញុំឈ្មោះ សុខ ជា ធ្វើការនៅរោងចក្រ", "សុខ", "ធ្វើការ"),
    ("km", "ខ្ញុំឈ្មោះដារ៉ា។ ប្រាក់ខែមិនគ្រប់", "ដារ៉ា", "ប្រាក់ខែ"),
    ("my", "ကျွန်တော့်နာမည် အောင်ကျော် ပါ", "အောင်ကျော်", "ပါ"),
    ("my", "ကျွန်မနာမည်က မြမြ ပါ။ လုပ်ခ မရဘူး", "မြမြ", "လုပ်ခ"),
    ("tl", "Ako si Juan Dela Cruz, taga Batangas", "Juan Dela Cruz", "Batangas"),
    ("tl", "Ang pangalan ko ay Maria Santos at wala kaming sahod", "Maria Santos", "sahod"),
    ("ne", "मेरो नाम राम बहादुर हो, तलब पाएको छैन", "राम बहादुर", "तलब"),
    ("ne", "mero naam Sita Rai ho, talab chaina", "Sita Rai", "talab"),
    ("ne", "mero nam sita rai ho", "sita rai", "ho"),
    ("bn", "আমার নাম রহিম উদ্দিন, আমি কাজ করি", "রহিম উদ্দিন", "কাজ"),
    ("bn", "amar nam Rahim, beton dey na", "Rahim", "beton"),
    # English written as a second language drops "is"; "it's X here"; a name that opens a text
    ("en", "my name Rajesh Thapa passport taken by agent", "Rajesh Thapa", "passport"),
    ("en", "Hi its Joko here, the dorm has no water", "Joko", "dorm"),
    ("en", "Hello, Priya here. We are paid late", "Priya", "paid"),
    ("en", "my name is Md. Rashid Khan, dorm C", "Rashid Khan", "dorm"),
    ("en", "I am May from line 2", "May", "line"),
    # Vietnamese pronouns shortened or without tones: e = em, a = anh, c / chi = chị
    ("vi", "e tên là Lê Thị Mai, làm ở tổ 5", "Lê Thị Mai", "tổ"),
    ("vi", "e là Trần Thu Hà, tăng ca nhiều", "Trần Thu Hà", "tăng"),
    ("vi", "a la Nguyen Van Tuan, bi tru luong", "Nguyen Van Tuan", "luong"),
    ("vi", "c tên Hoàng Thị Yến, xưởng may 2", "Hoàng Thị Yến", "xưởng"),
    ("vi", "chi ten Vu Thi Lan, bi phat tien", "Vu Thi Lan", "phat"),
    ("km", "knyom chmoh Sophal, rongchak min oy luy", "Sophal", "rongchak"),
    # "I" + name + a polite particle, without "name"
    ("my", "ကျွန်မ နှင်းဝေ ပါ လစာ မရဘူး", "နှင်းဝေ", "လစာ"),
    ("my", "ကျွန်တော် ကျော်ဇင် ပါ။ အလုပ်ချိန် ၁၄ နာရီ", "ကျော်ဇင်", "အလုပ်ချိန်"),
    ("th", "ผม วีระพงษ์ ครับ โดนหักเงิน", "วีระพงษ์", "โดนหักเงิน"),
    ("th", "หนู ปิยะนุช ค่ะ ทำงานกะดึก", "ปิยะนุช", "ทำงาน"),
    ("th", "ดิฉันสุภาพรค่ะ หัวหน้าด่าทุกวัน", "สุภาพร", "หัวหน้า"),
    ("th", "ผม มานพ ครับ", "มานพ", "ครับ"),
    ("th", "ชื่อ มานพ ครับ", "มานพ", "ครับ"),
    ("tl", "si Jomar ito, walang sahod", "Jomar", "sahod"),
    ("tl", "ito po si Arnel, overtime walang bayad", "Arnel", "overtime"),
    ("tl", "Liza Mendoza po, nasa dorm kami", "Liza Mendoza", "dorm"),
    ("ne", "ma Ramesh Shrestha, 3 mahina talab chaina", "Ramesh Shrestha", "talab"),
    ("ne", "म सीता तामाङ हुँ, तलब पाएको छैन", "सीता तामाङ", "तलब"),
    ("ta", "naan Kavitha, hostel la thanni illa", "Kavitha", "hostel"),
    ("ta", "நான் செல்வி பேசுறேன், சம்பளம் வரல", "செல்வி", "சம்பளம்"),
    ("bn", "আমি রুবিনা খাতুন, বেতন পাই না", "রুবিনা খাতুন", "বেতন"),
    ("bn", "ami Jahid, beton dey na", "Jahid", "beton"),
    ("bn", "আমি মোঃ আলমগীর হোসেন। ওভারটাইম নাই", "আলমগীর হোসেন", "ওভারটাইম"),
    ("bn", "আমি আবুল কালাম, ফোন নাই", "আবুল কালাম", "ফোন"),
]


@pytest.mark.parametrize(
    ("language", "text", "name", "kept"), NAMES, ids=[f"{n[0]}-{i}" for i, n in enumerate(NAMES)]
)
def test_self_given_names_are_hidden(language: str, text: str, name: str, kept: str) -> None:
    result = hides(text, name, "NAME")
    for part in (p for p in name.split() if len(p) > 2):  # not "de", "la"
        assert not re.search(rf"(?<!\w){re.escape(part)}(?!\w)", result.text), result.text
    assert kept in result.text, (language, result.text)


def test_decomposed_vietnamese_is_read_like_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Tên tôi là Lan, làm ở xưởng may")
    result = redact(decomposed)
    assert result.text == "Tên tôi là [NAME], làm ở xưởng may"


def test_every_configured_language_has_name_phrases() -> None:
    with DATA_FILE.open("rb") as handle:
        names = tomllib.load(handle)["names"]
    assert set(DEFAULT_LANGUAGES) <= set(names)
    for language in DEFAULT_LANGUAGES:
        assert names[language]["phrases"], language
    covered = {language for language, *_ in NAMES}
    assert covered == set(DEFAULT_LANGUAGES)


@pytest.mark.parametrize(
    "text",
    [
        "我是工人，每天加班",
        "我是普工，工资太低",
        "我是来反映情况的",
        "我是江西人",
        "I am tired and sick",
        "This is unfair, we work 14 hours",
        "I am Muslim and they mock me",
        "saya kerja lembur setiap hari",
        "Saya Muslim",
        "soy trabajadora de la línea 3",
        "soy de Puebla",
        "jsem unavená",
        "Jsem Ukrajinka",
        "Chtěl jsem Vás poprosit o pomoc",
        "ชื่อโรงงาน ABC Garment",
        "รายชื่อผู้ถูกไล่ออก",
        "เชื่อผมเถอะ",
        "tôi là công nhân",
        # "I" + words that are not a name, or a name that is not closed at once
        "ako ay pagod",
        "It's Monday, no pay again",
        "its ok",
        "It is Ramadan, we fast",
        "It is *very* hot",
        "Same here, we work 14 hours",
        "Once again, thanks",
        "Salamat po, nabayaran na kami",
        "Hindi po, wala pa",
        "Sana po matulungan nyo kami",
        "Bukod dito, walang overtime pay",
        "Magandang umaga po, tanong lang",
        "ami kaj kori, beton pai na",
        "ami Bangladeshi, Malaysia te kaj kori",
        "আমি অসুস্থ।",
        "আমি জানি না।",
        "আমি ইহা পারবোই।",
        "ma birami chu",
        "ma Nepal bata aako, company le talab diyena",
        "म नेपाली हुँ।",
        "म काम गर्छु।",
        "naan Tamil, factory la velai",
        "நான் சொல்கிறேன்: நல்லது,",
        "ผมเหนื่อยมากครับ",
        "ผมจะลาออกครับ",
        "ผมมาจากพม่าครับ",
        "มีหนูในหอพักเยอะมาก",
        "ကျွန်တော် နေမကောင်းပါ",
        "ကျွန်တော် မြန်မာ ပါ",
        "ကျွန်တော် အလုပ်လုပ်ပါတယ်",
        "ကျမ်းစာ ဖတ်တယ်",
        "e là công nhân may",
        "vamos a la Junta de Conciliación",
        "voy a la Ciudad de México",
        "a ten hour shift every day",
        "mAh Materiál:",
    ],
)
def test_ordinary_sentences_are_not_names(text: str) -> None:
    assert redact(text).text == text


# --- what monitors need stays ------------------------------------------------------------------

KEPT = [
    ("en", "We work 12 hours a day, 7 days a week", ("MY",)),
    ("zh", "加班到晚上11点，工资¥3,000，宿舍302住12个人", ("CN",)),
    ("zh", "每月3000元，扣了500块", ("CN",)),
    ("ms", "gaji RM1,500 sebulan, OT RM 6.50 sejam", ("MY",)),
    ("th", "ได้ 3000 baht ต่อเดือน ไม่ใช่ 9,000 บาท", ("TH",)),
    ("id", "gaji 2.500.000 rupiah, dipotong Rp 350.000", ("ID",)),
    ("id", "upah 4.500.000 per bulan", ("ID",)),
    ("vi", "lương 1,200,000 VND, phạt 1.500.000đ", ("VN",)),
    ("vi", "lương 15.000.000 đồng", ("VN",)),
    ("es", "pagan $1,850 pesos por semana", ("MX",)),
    ("cs", "plat 15 000 Kč měsíčně", ("CZ",)),
    ("tl", "sahod ₱12,500 kada buwan", ("PH",)),
    ("ne", "तलब रु 25,000 मात्र", ("NP",)),
    ("bn", "বেতন ১২০০০ টাকা", ("BD",)),
    ("ta", "சம்பளம் Rs. 1,20,000", ("IN",)),
    ("en", "salary 15,000,000 kyat a year", ("MM",)),
    ("en", "since 2026-10-05 we get no rest day", ("TH",)),
    ("en", "on 5/10 and 15.10.2026 at 22:30", ("CZ",)),
    ("en", "from 2026-10-05 22:30 until 06:00", ("CN",)),
    ("en", "line 7, dorm B-302, factory F-2931 and EW1042", ("MY",)),
    ("en", "45% of workers, 300 people, 3 fainted", ("MY",)),
    ("km", "ធ្វើការ 12 ម៉ោង ប្រាក់ខែ 200 USD", ("KH",)),
]


@pytest.mark.parametrize(("language", "text", "regions"), KEPT)
def test_facts_monitors_need_are_kept(language: str, text: str, regions: tuple[str, ...]) -> None:
    result = redact(text, regions=regions)
    assert result.text == text, (language, result.text)
    assert result.counts == {}


def test_a_whole_report_keeps_facts_and_hides_the_worker() -> None:
    text = (
        "My name is Maria Santos, line 7, dorm B-302. Since 2026-10-05 we work 12 hours "
        "until 22:30 for RM1,500. Passport E73920518 kept by agent. Call 012-345 6789 or "
        "maria.s@example.com"
    )
    result = redact(text, regions=("MY",))
    assert result.counts == {"NAME": 1, "ID": 1, "PHONE": 1, "EMAIL": 1}
    for fact in ("line 7", "dorm B-302", "2026-10-05", "12 hours", "22:30", "RM1,500"):
        assert fact in result.text


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("ผม วีระพงษ์ ครับ ทำงานวันละ 12 ชม. ค่าแรง 300 บาท", ("12 ชม.", "300 บาท")),
        (
            "ma Ramesh Shrestha, 3 mahina dekhi talab chaina, 12 ghanta kaam",
            ("3 mahina", "12 ghanta"),
        ),
        ("e là Trần Thu Hà, lương 4.500.000 đồng, làm 12 tiếng", ("4.500.000 đồng", "12 tiếng")),
        ("ami Jahid, 3 mash beton nai, 12 ghonta kaj", ("3 mash", "12 ghonta")),
        ("si Jomar ito, sahod ₱9,500 lang, 14 hrs", ("₱9,500", "14 hrs")),
        ("ကျွန်တော် ကျော်ဇင် ပါ။ လစာ ဘတ် ၉၀၀၀ ပဲ ရတယ်", ("လစာ", "၉၀၀၀")),
        ("naan Kavitha, 12 mani neram velai, Rs. 9,000 sambalam", ("12 mani", "Rs. 9,000")),
        ("Hi its Joko here, line 4, RM1,500 only", ("line 4", "RM1,500")),
        ("mi RFC es PEHJ880917AB4, trabajo 60 horas, pagan $1,850", ("60 horas", "$1,850")),
    ],
)
def test_facts_stay_beside_a_self_introduction(text: str, facts: tuple[str, ...]) -> None:
    result = redact(text, regions=("MY", "TH"))
    assert "[NAME]" in result.text or "[ID]" in result.text, result.text
    for fact in facts:
        assert fact in result.text, result.text


def test_text_without_personal_data_is_returned_unchanged() -> None:
    result = redact("The supervisor locks the fire exit at night.")
    assert result == Redaction(text="The supervisor locks the fire exit at night.", counts={})


# --- properties --------------------------------------------------------------------------------

CARRIERS = {
    "en": ["Please call me on {} after my shift.", "my phone {}"],
    "zh": ["我的电话是{}，我们每天加班。", "打{}找我"],
    "th": ["โทรหาฉันที่เบอร์{}นะคะ", "เบอร์ {} ค่ะ"],
    "vi": ["Số điện thoại của tôi là {} xin gọi lại.", "sdt {}"],
    "ms": ["Nombor telefon saya {} tolong hubungi.", "no hp {} ok"],
    "id": ["Nomor HP saya {} tolong hubungi setelah kerja.", "WA {}"],
    "ta": ["என் தொலைபேசி எண் {} தயவுசெய்து அழைக்கவும்.", "எண்: {}"],
    "es": ["Mi número es {} por favor llámenme.", "cel {}"],
    "cs": ["Moje číslo je {} zavolejte mi prosím.", "tel. {}"],
    "km": ["លេខទូរស័ព្ទរបស់ខ្ញុំគឺ{}សូមទូរស័ព្ទមកវិញ។", "លេខ {}"],
    "my": ["ကျွန်တော့်ဖုန်းနံပါတ်က{}ပါ။", "ဖုန်း {} ပါ"],
    "tl": ["Ang numero ko ay {} pakitawagan po ako.", "cp {}"],
    "ne": ["मेरो फोन नम्बर {} हो, कृपया फोन गर्नुहोस्।", "फोन {}"],
    "bn": ["আমার ফোন নম্বর {} দয়া করে ফোন করুন।", "ফোন {}"],
}
assert set(CARRIERS) == set(DEFAULT_LANGUAGES)

PHONE_REGIONS = (
    *("CN", "TH", "VN", "MY", "ID", "MX", "CZ", "PH", "NP", "BD", "IN", "KH", "MM"),
    *("GB", "US", "LK"),
)

# The zero of each digit script a worker's phone may type in.
DIGIT_ZEROS = {
    "ascii": 0x30,
    "fullwidth": 0xFF10,
    "thai": 0x0E50,
    "arabic-indic": 0x0660,
    "devanagari": 0x0966,
    "bengali": 0x09E6,
    "tamil": 0x0BE6,
    "khmer": 0x17E0,
    "myanmar": 0x1040,
}


def in_script(text: str, zero: int) -> str:
    """Write the ASCII digits of `text` in another digit script."""
    return "".join(chr(zero + int(c)) if c.isascii() and c.isdigit() else c for c in text)


@st.composite
def phone_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A random valid number of a random region, written as people write it, and the region."""
    region = draw(st.sampled_from(PHONE_REGIONS))
    kind = draw(st.sampled_from([PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE]))
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None
    desc = metadata.mobile if kind == PhoneNumberType.MOBILE else metadata.fixed_line
    assert desc is not None
    assert desc.national_number_pattern is not None
    pattern = desc.national_number_pattern.replace(r"\d", "[0-9]")
    national = draw(st.from_regex(pattern, fullmatch=True))
    number = phonenumbers.parse(national, region)
    assume(phonenumbers.is_valid_number_for_region(number, region))
    style = draw(st.sampled_from(["national", "international", "e164", "00", "separators"]))
    if style == "national":
        written = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    elif style == "international":
        written = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    elif style == "e164":
        written = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    else:
        if style == "00":
            digits = "00" + str(number.country_code) + str(number.national_number)
        else:
            digits = ascii_digits(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
        gaps = draw(
            st.lists(
                st.sampled_from(["", "", "", " ", "-", "."]),
                min_size=len(digits) - 1,
                max_size=len(digits) - 1,
            )
        )
        written = digits[0] + "".join(
            gap + digit for gap, digit in zip(gaps, digits[1:], strict=True)
        )
    zero = DIGIT_ZEROS[draw(st.sampled_from(sorted(DIGIT_ZEROS)))]
    return in_script(written, zero), region


def _dated(draw: st.DrawFn) -> str:
    return draw(st.from_regex(r"[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])", fullmatch=True))


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    """A random ID number in one of the formats workers send."""

    def d(n: int) -> str:
        return draw(st.text("0123456789", min_size=n, max_size=n))

    fmt = draw(
        st.sampled_from(
            [
                "cn",
                "th",
                "th-dashed",
                "my",
                "my-dashed",
                "vn",
                "nik",
                "curp",
                "cz",
                "philsys",
                "umid",
                "sss",
                "np",
                "bd10",
                "bd13",
                "bd17",
                "aadhaar",
                "aadhaar-bare",
                "pan",
                "passport",
                "mx-rfc",
                "mm-nrc",
                "th-pink",
            ]
        )
    )
    if fmt == "mx-rfc":
        return draw(st.from_regex(r"[A-Z]{4}", fullmatch=True)) + _dated(draw) + d(3)
    if fmt == "mm-nrc":
        township = draw(st.from_regex(r"[A-Z][a-z][A-Z][a-z][A-Z][a-z]", fullmatch=True))
        return f"{draw(st.integers(1, 14))}/{township}(N){d(6)}"
    if fmt == "th-pink":
        return f"0-0{d(3)}-{d(5)}-{d(2)}-{d(1)}"
    if fmt == "cn":
        year = draw(st.integers(1960, 2008))
        return f"{d(6)}{year}{_dated(draw)[2:]}{d(3)}{draw(st.sampled_from('0123456789X'))}"
    if fmt == "th":
        return draw(st.sampled_from("12345678")) + d(12)
    if fmt == "th-dashed":
        return f"{draw(st.sampled_from('12345678'))}-{d(4)}-{d(5)}-{d(2)}-{d(1)}"
    if fmt == "my":
        return f"{_dated(draw)}{d(2)}{d(4)}"
    if fmt == "my-dashed":
        return f"{_dated(draw)}-{d(2)}-{d(4)}"
    if fmt == "vn":
        return "0" + d(11)
    if fmt == "nik":
        return d(16)
    if fmt == "curp":
        return draw(
            st.from_regex(
                r"[A-Z]{4}[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9])[HM][A-Z]{5}[A-Z0-9][0-9]",
                fullmatch=True,
            )
        )
    if fmt == "cz":
        birth = _dated(draw)
        month = int(birth[2:4]) + draw(st.sampled_from([0, 50]))
        return f"{birth[:2]}{month:02d}{birth[4:]}/{d(draw(st.sampled_from([3, 4])))}"
    if fmt == "philsys":
        return f"{d(4)}-{d(4)}-{d(4)}-{d(4)}"
    if fmt == "umid":
        return f"{d(4)}-{d(7)}-{d(1)}"
    if fmt == "sss":
        return f"{d(2)}-{d(7)}-{d(1)}"
    if fmt == "np":
        return f"{d(2)}-{d(2)}-{d(2)}-{d(5)}"
    if fmt in ("bd10", "bd13", "bd17"):
        return d(int(fmt[2:]))
    if fmt == "aadhaar":
        return f"{draw(st.sampled_from('23456789'))}{d(3)} {d(4)} {d(4)}"
    if fmt == "aadhaar-bare":
        return draw(st.sampled_from("23456789")) + d(11)
    if fmt == "pan":
        return draw(st.from_regex(r"[A-Z]{3}[PCHFATBLJG][A-Z][0-9]{4}[A-Z]", fullmatch=True))
    letters = draw(st.from_regex(r"[A-Z]{1,2}", fullmatch=True))
    assume(letters not in ("RM", "RP", "RS", "TK", "KS"))
    return letters + d(draw(st.integers(6, 9)))


carriers = st.sampled_from(
    [(language, template) for language, ts in CARRIERS.items() for template in ts]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phone=phone_numbers(), carrier=carriers, hotline=st.sampled_from(PHONE_REGIONS))
def test_no_run_of_a_phone_number_survives(
    phone: tuple[str, str], carrier: tuple[str, str], hotline: str
) -> None:
    written, region = phone
    text = carrier[1].format(written)
    result = redact(text, regions=(region, hotline))
    assert_hidden(written, result)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(number=id_numbers(), carrier=carriers, script=st.sampled_from(["ascii", "fullwidth"]))
def test_no_run_of_an_id_number_survives(
    number: str, carrier: tuple[str, str], script: str
) -> None:
    written = in_script(number, DIGIT_ZEROS[script])
    result = redact(carrier[1].format(written), regions=("MY", "CN"))
    assert_hidden(number, result)
    assert number.upper() not in result.text.upper()


@settings(max_examples=150, deadline=None)
@given(phone=phone_numbers(), carrier=carriers)
def test_facts_survive_next_to_a_phone_number(
    phone: tuple[str, str], carrier: tuple[str, str]
) -> None:
    written, region = phone
    text = "Since 2026-10-05 we work 12 hours for 3000 baht. " + carrier[1].format(written)
    result = redact(text, regions=(region,))
    assert_hidden(written, result)
    for fact in ("2026-10-05", "12 hours", "3000 baht"):
        assert fact in result.text


# --- real and independent text -----------------------------------------------------------------


def digit_runs(text: str) -> list[str]:
    """Each run of digits a reader would take for one number, as ASCII digits."""
    return [ascii_digits(run) for run in re.findall(r"\d(?:[\s\-./()]{0,2}\d)*", text)]


def survives(secret: str, redacted: str) -> bool:
    """`secret` as written, its last digits, or any 7 of its digits in a row are still there."""
    if leaked(secret, redacted):
        return True
    digits, runs = ascii_digits(secret), digit_runs(redacted)
    return any(digits[i : i + 7] in run for run in runs for i in range(len(digits) - 6))


def test_the_evaluation_set_leaks_nothing() -> None:
    # Written by someone who never saw these rules: no personal data survives, no fact is lost.
    items = load_evaluation_set()
    leaks: list[str] = []
    lost: list[str] = []
    for item in items:
        regions = tuple(
            phonenumbers.region_code_for_number(phonenumbers.parse(number))
            for number in (item.sender, item.hotline)
        )
        redacted = redact(item.text, regions=regions).text
        leaks += [item.where for secret in item.pii if survives(secret, redacted)]
        lost += [item.where for fact in item.keep if fact not in redacted]
    pii = sum(len(item.pii) for item in items)
    facts = sum(len(item.keep) for item in items)
    print(
        f"evaluation set: {len(leaks)}/{pii} personal strings leak, {len(lost)}/{facts} facts lost"
    )
    assert not leaks, leaks
    assert not lost, lost


def test_udhr_paragraphs_name_nobody(corpora_dir: Path) -> None:
    # Careful prose with no self-introduction in it: no word may be taken for a name.
    named = []
    for line in (corpora_dir / "udhr.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if "[NAME]" in redact(row["text"]).text:
            named.append(f"{row['lang']} article {row['article']}.{row['para']}")
    assert not named, named


# --- other people's names (issue 13) ---------------------------------------------------------

THIRD_PERSONS = [
    # (text, name): invented names after role words, honorifics, or before post-name titles
    ("our supervisor Kevin Tan shouts at the girls everyday", "Kevin Tan"),
    ("madam Lucy in charge of hostel take RM200 deposit", "Lucy"),
    ("拉长刘建华天天骂人", "刘建华"),
    ("组长李强打了我", "李强"),
    ("vedoucí směny pan Novotný na nás pořád řve", "Novotný"),
    ("supervisor line 4 nama dia Encik Rosli", "Rosli"),
    ("mandor Pak Bambang", "Bambang"),
    ("el supervisor Ramiro Gutiérrez les grita", "Ramiro Gutiérrez"),
    ("सुपरभाइजर लिम हामीलाई गाली गर्छ", "लिम"),
    ("My supervisor Mr. Tan Ah Kow hit me", "Tan Ah Kow"),
    ("นายวิชัย ด่าเรา", "วิชัย"),
    ("Ravi Kumar took our passports", "Ravi Kumar"),
    ("hamilai Bikash dai le pitcha", "Bikash"),
    ("ரமேஷ் அண்ணா சம்பளம் குறைத்தார்", "ரமேஷ்"),
    ("করিম ভাই পাসপোর্ট নিয়ে গেছে", "করিম"),
    ("U Tin Maung the agent took our money", "Tin Maung"),
    ("ဒေါ်မြင့်မြင့် က ဆဲတယ်", "မြင့်မြင့်"),
    ("លោក ដារ៉ា មិនបើកប្រាក់", "ដារ៉ា"),
    ("sinigawan kami ni Kuya Ben", "Ben"),
    ("tổ trưởng Nguyễn Văn Hùng chửi công nhân", "Nguyễn Văn Hùng"),
    ("王经理说加班费不发了", "王"),
]


@pytest.mark.parametrize(("text", "name"), THIRD_PERSONS)
def test_a_third_persons_name_is_hidden(text: str, name: str) -> None:
    hides(text, name, "NAME")


# Names the first blind runs missed, by class (invented sentences, not the holdout's).
MORE_THIRD_PERSONS = [
    ("Kavitha and Priya got warning letter after the audit", "Kavitha"),
    ("Nurul dan Hafiz tak dapat gaji 2 bulan", "Nurul"),
    ("Jarmila a Věra dostaly výpověď", "Jarmila"),
    ("pinagalitan sina Jomar at Liza kahapon", "Liza"),
    ("leader encik zulkifli potong gaji kami", "zulkifli"),
    ("kena marah dengan supervisor kevin semalam", "kevin"),
    ("hit by line leader jason again", "jason"),
    ("kabir vai amader taka kete nise", "kabir"),
    ("guard Ramesh dorm la adikiraan", "Ramesh"),
    ("โดนพี่เบนซ์หัวหน้าไลน์ตะคอก", "เบนซ์"),
    ("ผจก.สมศักดิ์ ไม่ให้ลา", "สมศักดิ์"),
    ("ထွန်းထွန်းနဲ့ မခင်ခင် ကို ဖြုတ်တယ်", "ခင်ခင်"),
    ("បងស្រី សុភា ជេរយើង", "សុភា"),
    ("王总说这个月不发奖金", "王"),
    ("陈建国和林美玲都被扣了工资", "林美玲"),
    ("宿舍管理员赵文静每天查房骂人", "赵文静"),
    ("to truong Tuan bat lam den 10h", "Tuan"),
]


@pytest.mark.parametrize(("text", "name"), MORE_THIRD_PERSONS)
def test_names_in_lists_after_nicknames_and_glued_cues_are_hidden(text: str, name: str) -> None:
    hides(text, name, "NAME")


@pytest.mark.parametrize(
    "text",
    [
        "We make Samsung phone covers at Sunrise Electronics Sdn Bhd in Penang, 12 hours a day",
        "我在东莞的富士康厂做苹果手机，比亚迪那边工资更低",
        "công ty Hoa Sen ở Bình Dương nợ lương 2 tháng",
        "supervisor Line 4 says OT on 15/10/2026 at 8pm",
        "kilang Maju Jaya Plastik di Shah Alam tak bayar OT",
        "ไฟไหม้ที่โรงงาน อาคาร 2 ประตูหนีไฟล็อค",
        "ทุกคนมีสิทธิในการดำรงชีวิต เสรีภาพ และความมั่นคง คุณภาพ",
        "pani ko samasya, salary pani dinna",
        "গার্ড পাহারা দেয়, দালাল ভিসার জন্য টাকা নিছে",
        "ni tu INE, que se quedan en RH",
        "hostel ma khana dinna, pani dinna, 30 jana ek room",
        "总共加班60小时，总是不给钱",
        "Penang dan Johor sama saja, gaji RM1,500",
        "HR and QC office at block C",
        "မလှဘူး၊ အလုပ် မပြီးဘူး",
        "Melati Garments and Jaya Sdn Bhd pay late",
    ],
)
def test_factories_brands_places_and_words_are_no_names(text: str) -> None:
    assert redact(text).text == text


@pytest.mark.parametrize(
    "text",
    [
        "Mr " * 21000,
        "Kevin Tan " * 6500,
        "Abc" * 21000,
        "王李张刘陈" * 13000,
        "组长" * 32000,
        "王经理" * 21000,
        "หัวหน้าสมชาย" * 5400,
        "ram bhai " * 7200,
        "ဦး" * 32000,
        "si Ate " * 9300,
        "O0" * 32000,
        "A" + "b" * 64000,
        "Ali and " * 8000,
        "a y " * 16000,
        "刘志强和陈小红都" * 8000,
        "မ" * 64000,
        "โดนพี่" * 10000,
        "to truong Tuan " * 4200,
        "李总" * 32000,
    ],
)
def test_the_name_pass_is_linear_on_hostile_text(text: str) -> None:
    # 64 KB of cue words, capitalised runs, surnames: a second each at most even on a loaded
    # machine (a quadratic pattern takes minutes here).
    started = time.perf_counter()
    redact(text[:65536])
    assert time.perf_counter() - started < 5
