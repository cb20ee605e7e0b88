"""A worker texts in their own language; the hotline must know which one, offline and fast.

Every message here is invented. The corpora (UDHR paragraphs, lingua's test sentences) are
public texts shared by all the analysis tests, found through the `corpora_dir` fixture.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.pipeline.evaluate import load_evaluation_set
from intake.pipeline.identity import parse_address
from intake.pipeline.language import LanguageDetector
from intake.pipeline.types import DEFAULT_LANGUAGES

SOURCES = {"script", "detector", "lexicon", "reporter", "country", "default"}

# The country of a hotline where each language is the first one a worker would use.
HOME_COUNTRY = {
    "bn": "BD", "cs": "CZ", "en": "SG", "es": "MX", "id": "ID", "ms": "MY", "ta": "LK",
    "th": "TH", "tl": "PH", "vi": "VN", "zh": "CN",
}  # fmt: skip

# Floors for lingua's test sentences, a little under what was measured (in brackets), with
# no hint and with the home country. The Malay file is mostly Indonesian web text, so without
# a hint we only ask that it comes out Malay *or* Indonesian; with the MY hint, lines that
# carry Indonesian-only words (karena, bahwa, udah...) still come out Indonesian, as they should.
SENTENCE_FLOORS: dict[str, tuple[float, float]] = {
    "bn": (0.99, 0.99),  # (1.000, 1.000)
    "cs": (0.94, 0.95),  # (0.955, 0.965): the file holds some Polish, Slovak and mojibake
    "en": (0.98, 0.98),  # (0.991, 0.998)
    "es": (0.98, 0.98),  # (0.993, 0.994)
    "id": (0.99, 0.99),  # (0.997, 0.997)
    "ms": (0.00, 0.78),  # (0.045, 0.806)
    "ta": (0.99, 0.99),  # (1.000, 1.000)
    "th": (0.99, 0.99),  # (0.997, 0.997)
    "tl": (0.98, 0.98),  # (0.995, 0.995)
    "vi": (0.99, 0.99),  # (0.997, 0.999)
    "zh": (0.99, 0.99),  # (1.000, 1.000)
}


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    """The default hotline: all fourteen languages, built once for the whole module."""
    return LanguageDetector()


@pytest.fixture(scope="module")
def udhr(corpora_dir: Path) -> list[dict[str, str]]:
    """UDHR paragraphs as {"lang", "text"} rows."""
    with (corpora_dir / "udhr.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def sentences(corpora_dir: Path, lang: str) -> list[str]:
    """Lingua's test sentences for one language."""
    path = corpora_dir / "lingua-sentences" / f"{lang}.txt"
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# The corpora


def test_udhr_paragraphs_are_recognised_without_any_hint(
    detector: LanguageDetector, udhr: list[dict[str, str]]
) -> None:
    rows = [row for row in udhr if row["lang"] in detector.languages]
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for row in rows:
        total[row["lang"]] += 1
        right[row["lang"]] += detector.detect(row["text"]).code == row["lang"]
    overall = sum(right.values()) / len(rows)
    per_language = {lang: f"{right[lang]}/{total[lang]}" for lang in total}
    print(f"UDHR overall {overall:.4f} ({sum(right.values())}/{len(rows)}): {per_language}")
    assert overall >= 0.99, per_language
    assert set(total) == set(DEFAULT_LANGUAGES)


@pytest.mark.parametrize("lang", sorted(SENTENCE_FLOORS))
def test_lingua_sentences_with_and_without_the_country(
    detector: LanguageDetector, corpora_dir: Path, lang: str
) -> None:
    texts = sentences(corpora_dir, lang)
    bare = [detector.detect(text).code for text in texts]
    hinted = [detector.detect(text, country=HOME_COUNTRY[lang]).code for text in texts]
    without = sum(code == lang for code in bare) / len(texts)
    with_country = sum(code == lang for code in hinted) / len(texts)
    print(f"lingua sentences {lang}: no hint {without:.3f}, country {with_country:.3f}")
    floor_without, floor_with = SENTENCE_FLOORS[lang]
    assert without >= floor_without
    assert with_country >= floor_with
    if lang in ("ms", "id"):
        # Measured 0.964 (ms) and 0.998 (id); the misses are song-download listings.
        family = sum(code in ("ms", "id") for code in bare) / len(texts)
        print(f"lingua sentences {lang}: Malay or Indonesian {family:.3f}")
        assert family >= 0.95


def test_nepali_and_hindi_are_told_apart_when_both_are_configured(
    udhr: list[dict[str, str]],
) -> None:
    both = LanguageDetector(["en", "ne", "hi"])
    for lang in ("ne", "hi"):
        texts = [row["text"] for row in udhr if row["lang"] == lang]
        right = sum(both.detect(text).code == lang for text in texts) / len(texts)
        assert right >= 0.95, lang


# Hard cases from the hotline


@pytest.mark.parametrize(
    "text",
    [
        "toi bi no luong 2 thang",
        "cong ty khong tra luong thang nay, tang ca moi ngay",
        "chung toi lam viec 12 tieng moi ngay ma khong duoc nghi",
        "Công ty không trả lương tháng này",
    ],
)
def test_vietnamese_with_or_without_tone_marks(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text).code == "vi"


def test_vietnamese_typed_in_decomposed_unicode(detector: LanguageDetector) -> None:
    text = unicodedata.normalize("NFD", "Chúng tôi bị nợ lương hai tháng rồi, xin giúp đỡ")
    assert detector.detect(text).code == "vi"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gaji x bayar lg", "ms"),
        ("kilang tak bagi cuti sakit, majikan x nak bayar OT", "ms"),
        ("boss kat kilang ni suka marah, kitorang takde rehat", "ms"),
        ("gue ga digaji 2 bulan", "id"),
        ("pabrik nggak bayar lembur, mandor bilang tunggu aja", "id"),
        ("udah 3 bulan gaji gak dibayar sama perusahaan", "id"),
    ],
)
def test_malay_and_indonesian_slang_decide_without_a_hint(
    detector: LanguageDetector, text: str, expected: str
) -> None:
    guess = detector.detect(text)
    assert guess.code == expected
    assert guess.source == "lexicon"


def test_marker_words_outweigh_the_hotline_country(detector: LanguageDetector) -> None:
    # An Indonesian worker texting a Malaysian hotline, and the other way round.
    assert detector.detect("gue ga digaji 2 bulan", country="MY").code == "id"
    assert detector.detect("gaji x bayar lg", country="ID").code == "ms"


@pytest.mark.parametrize(("country", "expected"), [("MY", "ms"), ("ID", "id"), ("SG", "ms")])
def test_the_country_settles_malay_versus_indonesian(
    detector: LanguageDetector, country: str, expected: str
) -> None:
    guess = detector.detect("saya tak dapat gaji sudah dua bulan", country=country)
    assert (guess.code, guess.source) == (expected, "country")


def test_the_reporter_settles_malay_versus_indonesian_before_the_country(
    detector: LanguageDetector,
) -> None:
    guess = detector.detect("saya tak dapat gaji sudah dua bulan", known="id", country="MY")
    assert (guess.code, guess.source) == ("id", "reporter")


@pytest.mark.parametrize(
    "text",
    [
        "yung supervisor namin sinisigawan kami everyday",
        "sahod namin hindi pa binibigay ng agency for 2 months",
        "ang init sa factory walang aircon, maraming nahihilo",
        "Supervisor namin sinisigawan kami araw-araw, walang overtime pay",
    ],
)
def test_taglish_is_tagalog(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text).code == "tl"


@pytest.mark.parametrize(
    "text",
    [
        "mero naam Sita ho, malai talab diyeko chaina",
        "hami lai 3 mahina dekhi talab diyeko chhaina",
        "mero passport company le rakhyo, talab diyena",
        "hamko paisa nahi mila",
        "mujhe teen mahine se tankhwah nahi mili hai",
    ],
)
def test_romanised_nepali_and_hindi_come_out_nepali(detector: LanguageDetector, text: str) -> None:
    guess = detector.detect(text)
    assert (guess.code, guess.source) == ("ne", "lexicon")


def test_romanised_hindi_is_hindi_where_hindi_is_configured() -> None:
    with_hindi = LanguageDetector(["en", "ne", "hi"])
    assert with_hindi.detect("mujhe teen mahine se tankhwah nahi mili hai").code == "hi"
    assert with_hindi.detect("malai talab diyeko chaina, kaam dherai cha").code == "ne"


# Romanised Bengali, Tamil, Khmer, Burmese, Thai and Nepali: invented messages as workers
# type them on phones without their script. Most reach a Malaysian or Thai hotline, so the
# hotline's country names the wrong language and lingua, which has no model for any of
# them, is often sure of Tagalog or English.
ROMANISED: dict[str, list[str]] = {
    "bn": [
        "amar ma osustho, desh e jaite chai kintu company chuti dicche na",
        "protidin 12 ghonta kaj kori kintu overtime er taka dey na",
        "khabar er jonno mash e 200 ringgit kete ney, khabar khub kharap",
        "amra 30 jon ek shathe complain korte chai, ki korbo",
        "bhai amar passport malik rekhe dise, ferot dite chay na",
    ],
    "ta": [
        "enakku 2 maasam sambalam kudukkala, boss romba thittuvaaru",
        "supervisor dhinamum adikkiraan, police kitta sonna velai pogum",
        "hostel la saapadu nalla illa, thanni kooda varala",
        "naanga 30 peru serndhu complaint kudukkanum, enna pannanum",
        "passport company kitta irukku, thirumba kudukka maatranga",
    ],
    "km": [
        "khnhom twer kar nov rongchak, ot ban luy khe 2 khe hz",
        "kh'nhom chhmous Sokha, neak kruo ot oy samrak",
        "rongchak kat luy bay 200 ringgit mouy khe, bay ot chhngang",
        "yerng 30 neak chong pdeng, trov thver doch mdech",
        "bong ach chuoy khnhom ban te? prak khe 2 khe min torn ban",
    ],
    "my": [
        "kyanaw a lote shin ka la kha ma pay buu",
        "kyama passport ko a lote shin yu tar, pyan ma pay buu",
        "htamin phoe la tine 200 ringgit phyat tal, htamin ma kaung buu",
        "mingalarbar, kyanaw doh htamin sar ma kaung buu",
        "3 la lote tar ngwe ma ya buu, kyayzu pyu pe par",
    ],
    "th": [
        "nai jang mai jai ngern duean 2 duean laew",
        "hua na duay tuk wan, phom tam OT mai dai ngern",
        "chuay duay krub, khajang mai krob",
        "mae phom mai sabai, yak glub baan tae hua na mai hai la",
        "dichan tam ngan 12 chua mong tuk wan ka",
    ],
    "ne": [
        "hamro sahuji le 2 mahina dekhi talab diyeko chaina",
        "line chief le dinhu hami lai pitcha, police lai bhane jagir jancha",
        "dherai kaam garaucha tara OT ko paisa dina mandaina",
        "khana ko lagi mahina ko 200 ringgit katcha, khana ekdam naramro",
        "supervisor le hami lai kutcha, police ma jana dinna",
    ],
}


@pytest.mark.parametrize("country", [None, "MY", "TH"])
@pytest.mark.parametrize(
    ("lang", "text"),
    [
        pytest.param(lang, text, id=f"{lang}-{i}")
        for lang, texts in ROMANISED.items()
        for i, text in enumerate(texts)
    ],
)
def test_romanised_messages_come_out_in_the_workers_language(
    detector: LanguageDetector, lang: str, text: str, country: str | None
) -> None:
    guess = detector.detect(text, country=country)
    assert (guess.code, guess.source) == (lang, "lexicon")


@pytest.mark.parametrize(
    ("text", "country", "expected"),
    [
        # Malay and Indonesian: "mana", "ada", "kerja", "saya", "bata", "malik" are in them.
        ("saya kerja di kilang, majikan tak bayar gaji dua bulan", None, "ms"),
        ("Malik kata boss tak nak bayar OT, kami semua marah", None, "ms"),
        ("mana ada duit, semua kena potong", "MY", "ms"),
        ("mandor bilang tidak ada lembur, kami mau pulang ke kampung", None, "id"),
        ("Kami pernah ke rumah Pak Dewa, dia bilang gaji tidak dibayar", "ID", "id"),
        # Tagalog: "bata" is Nepali "from", "na" and "sa" are everywhere.
        ("wala pa rin ang sahod namin, sabi ng amo sa Lunes na daw", None, "tl"),
        ("Bata pa siya pero pinagtatrabaho na ng gabi sa pabrika", None, "tl"),
        ("Hindi kami binabayaran ng overtime, mainit pa sa loob ng dorm", "MY", "tl"),
        # English with South Asian names and food, and one romanised word.
        ("The naan and dal in the canteen are cold every day, please help", None, "en"),
        ("Mr Ali and Mr Malik from the agency took our passports", "MY", "en"),
        ("Please help, the malik took my passport and will not give it back", "MY", "en"),
        ("Thank you sir, the salary came today, nandri", "MY", "en"),
        # Spanish "ami" and "tomar", Czech "beton", Vietnamese "bong" and "mai".
        ("Mi jefe dice que no hay dinero, ami me deben tres semanas", None, "es"),
        ("Nos obligan a tomar turnos de noche, hoy no nos pagan", None, "es"),
        ("Děti pracují na stavbě, beton nosí celý den a mistr nám neplatí", None, "cs"),
        ("cong ty bong nhien khong tra luong, toi phai lam them", None, "vi"),
        ("mai toi di lam ca dem, hai ngay roi chua co luong", "MY", "vi"),
    ],
)
def test_words_shared_with_the_romanised_lists_keep_their_language(
    detector: LanguageDetector, text: str, country: str | None, expected: str
) -> None:
    assert detector.detect(text, country=country).code == expected


# Measured on the evaluation set in intake/pipeline/data/evaluation (hotline country as the
# hint): 0.944 (338/358) before the romanised lists, 0.994 (356/358) after, every language
# at 25/26 or better. Its misses were read while the lists were written, so this guards
# against regressions rather than measuring unseen text.
EVALUATION_FLOOR = 0.98
EVALUATION_LANGUAGE_FLOOR = 0.9


def test_the_evaluation_set_accuracy(detector: LanguageDetector) -> None:
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for item in load_evaluation_set():
        country = parse_address(item.hotline).region
        total[item.language] += 1
        right[item.language] += detector.detect(item.text, country=country).code == item.language
    overall = sum(right.values()) / sum(total.values())
    per_language = {lang: right[lang] / total[lang] for lang in sorted(total)}
    print(f"evaluation set overall {overall:.4f} ({sum(right.values())}/{sum(total.values())})")
    print("evaluation set " + ", ".join(f"{k} {v:.3f}" for k, v in per_language.items()))
    assert overall >= EVALUATION_FLOOR
    assert min(per_language.values()) >= EVALUATION_LANGUAGE_FLOOR, per_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("老板不给工资 OT 3个月 salary 2000", "zh"),
        ("HR说我们12月的bonus没有了，每天OT到11点", "zh"),
        ("หัวหน้าด่าทุกวัน supervisor bad", "th"),
        ("ก.ค. OT 60 ชม. ไม่จ่าย", "th"),
        ("ម្ចាស់រោងចក្រមិនបើកប្រាក់ខែ 2 ខែ OT", "km"),
        ("အလုပ်ရှင် လစာ မပေးဘူး 3 လ", "my"),
        ("சம்பளம் 2 மாதம் கொடுக்கவில்லை boss", "ta"),
        ("মালিক ৩ মাস বেতন দেয়নি OT", "bn"),
        ("मलाई तीन महिनादेखि तलब दिएको छैन", "ne"),
        ("Factory 华美 has not paid us for two months of overtime", "en"),
    ],
)
def test_mixed_scripts_follow_the_main_script(
    detector: LanguageDetector, text: str, expected: str
) -> None:
    assert detector.detect(text).code == expected


def test_a_unique_script_is_certain_and_says_so(detector: LanguageDetector) -> None:
    guess = detector.detect("公司两个月没发工资，每天加班到晚上11点", known="en", country="MY")
    assert (guess.code, guess.source, guess.confidence) == ("zh", "script", 1.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We worked 14 hours a day this week and overtime is not paid", "en"),
        ("Nos obligan a trabajar horas extra sin pago desde marzo", "es"),
        ("Nedostali jsme výplatu za dva měsíce a vedoucí na nás křičí", "cs"),
        ("Mr Ng and Mr Ang were shouting at us in the factory every day", "en"),
        ("FIRE on line 3 and the exit is locked", "en"),
    ],
)
def test_well_formed_latin_script_texts(
    detector: LanguageDetector, text: str, expected: str
) -> None:
    assert detector.detect(text).code == expected


def test_repeated_small_words_do_not_make_czech_malay(detector: LanguageDetector) -> None:
    # "je" and "tak" are Malay shorthand and everyday Czech.
    assert detector.detect("Je to tak, že je to tak").code == "cs"


# Short texts and fallbacks

SHORT = ["ok", "1", "help", "???", "😀🙏", "", "   ", "OK!!", "hi"]


@pytest.mark.parametrize("text", SHORT)
def test_short_texts_fall_back_to_the_first_language(detector: LanguageDetector, text: str) -> None:
    guess = detector.detect(text)
    assert (guess.code, guess.source) == ("en", "default")


@pytest.mark.parametrize("text", SHORT)
def test_short_texts_fall_back_to_the_reporters_language_first(
    detector: LanguageDetector, text: str
) -> None:
    guess = detector.detect(text, known="th", country="MY")
    assert (guess.code, guess.source) == ("th", "reporter")


@pytest.mark.parametrize(
    ("country", "expected"),
    [("KH", "km"), ("MM", "my"), ("NP", "ne"), ("cn", "zh"), ("US", "en"), ("FR", "en")],
)
def test_short_texts_fall_back_to_the_countrys_language(
    detector: LanguageDetector, country: str, expected: str
) -> None:
    guess = detector.detect("ok", country=country)
    assert (guess.code, guess.source) == (expected, "country")


def test_an_unconfigured_reporter_language_is_ignored(detector: LanguageDetector) -> None:
    guess = detector.detect("ok", known="fr", country="VN")
    assert (guess.code, guess.source) == ("vi", "country")


def test_an_unsure_detector_defers_to_the_reporter(detector: LanguageDetector) -> None:
    guess = detector.detect("Tomasi Palermo Ave Maria", known="es")
    assert (guess.code, guess.source) == ("es", "reporter")


# Configured languages


def test_a_restricted_hotline_never_answers_outside_its_languages() -> None:
    small = LanguageDetector(["en", "es"])
    texts = [
        "老板不给工资",
        "หัวหน้าด่าทุกวัน",
        "toi bi no luong",
        "gue ga digaji 2 bulan",
        "mero naam Sita ho, malai talab diyeko chaina",
        "ok",
        "",
    ]
    for text in texts:
        assert small.detect(text, known="zh", country="CN").code in ("en", "es")
    assert small.detect("No nos pagan las horas extra").code == "es"


def test_the_country_fallback_respects_the_configured_languages() -> None:
    small = LanguageDetector(["es", "en"])
    assert small.detect("ok", country="TH") == small.detect("ok")
    assert small.detect("ok").code == "es"


@pytest.mark.parametrize("languages", [[], ["en", "xx"], ["klingon"]])
def test_an_unknown_language_is_refused_at_startup(languages: list[str]) -> None:
    with pytest.raises(ValueError, match="language"):
        LanguageDetector(languages)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=200),
    known=st.sampled_from([None, "th", "fr", "id"]),
    country=st.sampled_from([None, "MY", "ID", "ZZ", "th"]),
)
def test_any_text_gets_a_configured_language_and_an_honest_source(
    detector: LanguageDetector, text: str, known: str | None, country: str | None
) -> None:
    guess = detector.detect(text, known=known, country=country)
    assert guess.code in DEFAULT_LANGUAGES
    assert guess.source in SOURCES
    assert 0.0 <= guess.confidence <= 1.0
