"""The learned classifier and the evaluation arithmetic, on small invented data."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from intake.pipeline.evaluate import (
    Counts,
    EvalItem,
    EvaluationReport,
    evaluate,
    format_report,
    leaked,
)
from intake.pipeline.model import (
    CategoryModel,
    Example,
    FeatureSettings,
    ModelFileError,
    evaluate_model,
    features,
    seed_examples,
    split,
    train,
)
from intake.pipeline.types import LanguageGuess

# Invented complaints, two languages, four codes plus "other"; every phrase is made up.
PHRASES: dict[str, dict[str, list[str]]] = {
    "en": {
        "wages": [
            "salary not paid",
            "no pay for overtime",
            "wages late again",
            "payslip missing",
            "they cut our salary",
        ],
        "working_hours": [
            "no rest day",
            "shift of fourteen hours",
            "work every sunday",
            "overtime till midnight",
            "no day off",
        ],
        "health_safety": [
            "no mask for chemicals",
            "machine has no guard",
            "fire exit blocked",
            "glue smell makes dizzy",
            "no gloves given",
        ],
        "harsh_treatment": [
            "supervisor shouts insults",
            "leader slapped a worker",
            "boss calls us stupid",
            "humiliated in front of the line",
            "manager kicked him",
        ],
        "other": [
            "thank you so much",
            "is this number free",
            "hello how do i report",
            "good morning",
            "ok thanks",
        ],
    },
    "vi": {
        "wages": [
            "cty no luong",
            "khong tra tien tang ca",
            "luong tra cham",
            "bi tru luong",
            "chua nhan luong",
        ],
        "working_hours": [
            "tang ca den nua dem",
            "khong co ngay nghi",
            "lam chu nhat",
            "ca dai muoi bon tieng",
            "lam suot tuan",
        ],
        "health_safety": [
            "khong co khau trang",
            "may khong che chan",
            "cua thoat hiem bi khoa",
            "hoa chat nong",
            "khong co gang tay",
        ],
        "harsh_treatment": [
            "to truong chui",
            "quan ly danh cong nhan",
            "bi mang ngu",
            "bi lam nhuc truoc line",
            "bi tat vao mat",
        ],
        "other": ["cam on nhieu", "so nay co mat phi khong", "xin chao", "cho em hoi", "ok a"],
    },
}
CONTEXT = ["", "at the factory", "in line 3", "please help", "since march", "tai xuong 2"]


# Not in training: each is a known complaint retyped, with a typo and words never seen.
HELD_OUT: dict[str, dict[str, str]] = {
    "en": {
        "wages": "my salery still not paid!!",
        "working_hours": "no rest dayy for 3 weeks",
        "health_safety": "the machine got no guard",
        "harsh_treatment": "supervisor shout insult at us",
        "other": "thank u",
    },
    "vi": {
        "wages": "cty van no luong 2 thang",
        "working_hours": "tăng ca đến nửa đêm",
        "health_safety": "ko co khau trang gi het",
        "harsh_treatment": "tổ trưởng chửi bọn em",
        "other": "cảm ơn nhiều ạ",
    },
}


def synthetic(language: str) -> list[Example]:
    """Each phrase alone and in a few invented contexts."""
    examples = []
    for code, phrases in PHRASES[language].items():
        for phrase, context in itertools.product(phrases, CONTEXT):
            examples.append(Example(f"{phrase} {context}".strip(), language, (code,)))
    return examples


@pytest.fixture(scope="module")
def model() -> CategoryModel:
    return train(synthetic("en") + synthetic("vi"), seed=0)


@pytest.mark.parametrize("language", ["en", "vi"])
def test_predicts_the_right_category_for_an_unseen_phrase(
    model: CategoryModel, language: str
) -> None:
    for code, text in HELD_OUT[language].items():
        scores = model.predict(text)
        assert max(scores, key=scores.__getitem__) == code, (text, scores)


def test_predicts_every_known_code_as_a_probability(model: CategoryModel) -> None:
    scores = model.predict("the supervisor shouts and no salary was paid")
    assert (
        set(scores)
        == set(model.codes)
        == {"wages", "working_hours", "health_safety", "harsh_treatment", "other"}
    )
    assert all(0.0 <= p <= 1.0 for p in scores.values())
    assert scores["wages"] > 0.5
    assert scores["harsh_treatment"] > 0.5
    assert model.predict("") == model.predict("   [PHONE] ")


def test_save_and_load_give_identical_predictions(model: CategoryModel, tmp_path: Path) -> None:
    path = tmp_path / "models" / "categories.npz"
    model.save(path)
    loaded = CategoryModel.load(path)
    for text in ["salary not paid", "quản lý đánh công nhân", "", "fire exit blocked 081"]:
        assert loaded.predict(text) == model.predict(text)
    assert loaded.codes == model.codes
    assert loaded.settings == model.settings
    assert [p.name for p in path.parent.iterdir()] == ["categories.npz"]  # no temp file left


def test_load_refuses_other_versions_and_pickles(model: CategoryModel, tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path) as arrays:
        contents = dict(arrays)
    header = json.loads(contents["header"].tobytes())
    header["version"] = 99
    contents["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **contents)
    with pytest.raises(ModelFileError, match="unsupported"):
        CategoryModel.load(path)
    np.savez(path, header=np.array([{"code": "x"}], dtype=object))
    with pytest.raises(ModelFileError):
        CategoryModel.load(path)


def test_features_fold_accents_digits_case_and_placeholders() -> None:
    settings = FeatureSettings()
    assert np.array_equal(features("tăng ca 12h", settings), features("TANG CA 14h", settings))
    assert np.array_equal(features("call [PHONE] now", settings), features("call now", settings))
    assert np.array_equal(features("helppp", settings), features("help", settings))
    assert not np.array_equal(features("นอน", settings), features("นาน", settings))


def test_a_seed_term_matches_inside_a_message_in_any_script() -> None:
    settings = FeatureSettings()
    for term, message in [
        ("工资", "这个月工资又拖了"),  # no spaces between words
        ("ค่าแรง", "ค่าแรงไม่ถึงขั้นต่ำ วันละ 300"),
        ("gaji", "gaji bulan ni x masuk lagi"),
    ]:
        assert set(features(term, settings)) <= set(features(message, settings)), term


def test_training_needs_two_classes() -> None:
    with pytest.raises(ValueError, match="positive and negative"):
        train([Example("a", "en", ("wages",)), Example("b", "en", ("wages",))])


def test_split_is_stratified_by_language_and_deterministic() -> None:
    examples = synthetic("en") + synthetic("vi") + [Example("lone", "th", ("other",))]
    train_part, test_part = split(examples, test_fraction=0.25, seed=7)
    assert split(examples, test_fraction=0.25, seed=7) == (train_part, test_part)
    assert split(examples, test_fraction=0.25, seed=8) != (train_part, test_part)
    assert sorted(map(repr, train_part + test_part)) == sorted(map(repr, examples))
    for language in ("en", "vi"):
        total = sum(e.language == language for e in examples)
        assert sum(e.language == language for e in test_part) == round(total * 0.25)
    assert Example("lone", "th", ("other",)) in train_part  # one example can only train


def test_evaluate_model_reports_micro_precision_and_recall_per_language(
    model: CategoryModel,
) -> None:
    held_out = [
        Example("salary not paid", "en", ("wages",)),
        Example("fire exit blocked", "en", ("health_safety", "working_hours")),
        Example("cam on nhieu", "vi", ("other",)),
    ]
    report = evaluate_model(model, held_out)
    assert report.by_language["en"] == Counts(tp=2, fp=0, fn=1)
    assert report.by_language["vi"] == Counts(tp=1, fp=0, fn=0)
    assert report.overall.precision == 1.0
    assert report.overall.recall == 0.75


def test_seed_examples_from_lexicon_files(tmp_path: Path) -> None:
    (tmp_path / "xx.toml").write_text(
        'language = "xx"\n'
        '[categories.wages]\nterms = ["no pay", "OT"]\n'
        '[categories.working_hours]\nterms = ["OT", "no rest"]\n'
        '[urgent]\nterms = ["fire"]\n',
        encoding="utf-8",
    )
    (tmp_path / "yy.toml").write_text('language = "yy"\n[categories.other]\nterms = []\n')
    seeds = seed_examples(tmp_path)
    assert sorted(seeds, key=lambda e: e.text) == [
        Example("OT", "xx", ("working_hours", "wages")),
        Example("no pay", "xx", ("wages",)),
        Example("no rest", "xx", ("working_hours",)),
    ]
    assert seed_examples(tmp_path / "missing") == []
    (tmp_path / "zz.toml").write_text('language = "zz"\n[categories.wages\n')  # half-written
    with pytest.raises(ValueError, match="zz.toml"):
        seed_examples(tmp_path)


# --- evaluation of a whole pipeline, with a fake in place of the analyzer -------------------


@dataclass(frozen=True)
class FakeOutcome:
    language: str | LanguageGuess
    categories: list[str]
    urgent: bool
    redacted: str


def item(
    text: str,
    language: str,
    categories: tuple[str, ...],
    urgent: bool = False,
    pii: tuple[str, ...] = (),
    keep: tuple[str, ...] = (),
    where: str = "",
) -> EvalItem:
    return EvalItem(
        text, language, categories, urgent, pii, "+66812345678", "+66898765432", keep, where
    )


def test_evaluate_counts_languages_categories_urgency_and_leaks() -> None:
    items = [
        item("no pay, call 081-234-5678", "th", ("wages",), pii=("081-234-5678",), where="a"),
        item(
            "I am Somchai, fire", "th", ("health_safety",), urgent=True, pii=("Somchai",), where="b"
        ),
        item("no pay 5 days", "vi", ("wages", "working_hours"), keep=("5 days",), where="c"),
        item("cam on", "vi", ("other",), where="d"),
    ]
    outcomes = {
        "a": FakeOutcome("th", ["wages", "working_hours"], False, "no pay, call 081 234 5678"),
        "b": FakeOutcome("vi", ["health_safety"], True, "I am [NAME], fire"),
        "c": FakeOutcome("vi", ["wages"], True, "no pay [NUMBER] days"),
        "d": FakeOutcome(LanguageGuess("vi", 0.9, "detector"), ["other"], False, "cam on"),
    }
    by_text = {i.text: outcomes[i.where] for i in items}
    seen: list[tuple[str, str]] = []

    def analyze(text: str, sender: str, hotline: str) -> FakeOutcome:
        seen.append((sender, hotline))
        return by_text[text]

    report = evaluate(analyze, items)

    assert seen == [("+66812345678", "+66898765432")] * 4
    assert (report.language.correct, report.language.total) == (3, 4)
    assert report.language_by_language["th"].rate == 0.5
    assert report.language_by_language["vi"].rate == 1.0
    assert report.language_confusions == {("th", "vi"): 1}
    assert report.categories["wages"] == Counts(tp=2, fp=0, fn=0)
    assert report.categories["working_hours"] == Counts(tp=0, fp=1, fn=1)
    assert report.categories["health_safety"] == Counts(tp=1)
    assert report.categories["other"] == Counts(tp=1)
    assert report.categories["child_labour"] == Counts()
    assert report.categories_micro == Counts(tp=4, fp=1, fn=1)
    assert report.categories_micro.precision == 0.8
    assert report.categories_micro.f1 == 0.8
    assert report.categories_by_language == {"th": Counts(2, 1, 0), "vi": Counts(2, 0, 1)}
    assert report.urgent == Counts(tp=1, fp=1, fn=0)
    assert (report.urgent.recall, report.urgent.precision) == (1.0, 0.5)
    assert (report.pii_total, report.leaks, report.leaks_by_language) == (2, ("a",), {"th": 1})
    assert (report.facts_total, report.facts_lost) == (1, ("c",))
    assert_readable(report)


def assert_readable(report: EvaluationReport) -> None:
    text = format_report(report)
    assert "Language accuracy: 0.750 (3/4)" in text
    assert "Urgent: recall 1.000, precision 0.500" in text
    assert "1 of 2 PII strings leaked at a" in text
    assert "th->vi 1" in text
    assert "Somchai" not in text
    assert "5678" not in text


@pytest.mark.parametrize(
    ("secret", "redacted", "expected"),
    [
        ("081-234-5678", "call ๐๘๑ ๒๓๔ ๕๖๗๘ now", True),  # Thai digits
        ("+66 81 234 5678", "call 081-234-5678", True),  # national form of the same number
        ("၉/မထလ(နိုင်)၂၈၄၇၃၁", "မှတ်ပုံတင် ၉/မထလ(နိုင်)၂၈၄၇၃၁", True),
        ("Somchai", "SOMCHAI here", True),
        ("081-234-5678", "call [PHONE], 5678 baht", False),
        ("081-234-5678", "081 234 [PHONE]", False),
        ("line 4", "line [NUMBER]", False),
    ],
)
def test_leak_check_normalises_digits(secret: str, redacted: str, expected: bool) -> None:
    assert leaked(secret, redacted) is expected
