"""Reference data: regions and time zones, institutions, categories, phone and NIK checks (DOMAIN §10)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.reference import (
    PROVINCE_TIMEZONES,
    Category,
    Institution,
    InvalidPhoneNumber,
    ReferenceData,
    ReferenceDataError,
    Region,
    Unit,
    category_to_dict,
    category_tree,
    institution_to_dict,
    is_valid_nik,
    load_reference,
    normalize_phone,
    region_to_dict,
)
from chalicelib.reference import regions as regions_module
from chalicelib.reference.categories import load_categories
from chalicelib.reference.institutions import load_institutions

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return load_reference()


# --- regions ---------------------------------------------------------------------------------------------


def test_there_are_38_provinces_and_514_kabupaten_kota(ref: ReferenceData) -> None:
    provinces = ref.provinces()
    kabupaten_kota = [r for r in ref.regions.values() if r.level in ("regency", "city")]
    assert len(provinces) == 38
    assert len(kabupaten_kota) == 514
    assert len(ref.regions) == 38 + 514


def test_regions_match_lokal_ids_own_listing(ref: ReferenceData) -> None:
    # load_regions walks codes with get_wilayah to skip the village index; it must find exactly what
    # list_wilayah (the documented listing, which builds that index) returns.
    from lokal.wilayah import list_wilayah

    expected = {p.code: p.name for p in list_wilayah()}
    for province in list_wilayah():
        expected.update({w.code: w.name for w in list_wilayah(province.code)})
    assert {code: region.name for code, region in ref.regions.items()} == expected


def test_provinces_are_ordered_by_code(ref: ReferenceData) -> None:
    codes = [p.code for p in ref.provinces()]
    assert codes == sorted(codes)
    assert codes[0] == "11" and codes[-1] == "96"
    assert all(p.province_code == p.code and p.level == "province" for p in ref.provinces())


def test_time_zone_map_covers_exactly_the_provinces(ref: ReferenceData) -> None:
    assert set(PROVINCE_TIMEZONES) == {p.code for p in ref.provinces()}


def test_every_region_has_a_valid_time_zone(ref: ReferenceData) -> None:
    assert {r.timezone for r in ref.regions.values()} == {"WIB", "WITA", "WIT"}


@pytest.mark.parametrize(
    ("code", "zone"),
    [
        ("64", "WITA"),  # Kalimantan Timur
        ("21", "WIB"),  # Kepulauan Riau
        ("62", "WIB"),  # Kalimantan Tengah
        ("61", "WIB"),  # Kalimantan Barat
        ("63", "WITA"),  # Kalimantan Selatan
        ("65", "WITA"),  # Kalimantan Utara
        ("91", "WIT"),  # Papua
        ("96", "WIT"),  # Papua Barat Daya
        ("81", "WIT"),  # Maluku
        ("51", "WITA"),  # Bali
        ("53", "WITA"),  # Nusa Tenggara Timur
        ("76", "WITA"),  # Sulawesi Barat
        ("31", "WIB"),  # DKI Jakarta
        ("11", "WIB"),  # Aceh
    ],
)
def test_province_time_zones(ref: ReferenceData, code: str, zone: str) -> None:
    assert ref.region(code) is not None
    assert ref.region(code).timezone == zone


def test_kabupaten_kota_take_their_provinces_time_zone(ref: ReferenceData) -> None:
    for region in ref.regions.values():
        assert region.timezone == ref.regions[region.province_code].timezone, region
        assert region.code.split(".")[0] == region.province_code


def test_region_levels_distinguish_kabupaten_from_kota(ref: ReferenceData) -> None:
    assert ref.region("64.72") == Region("64.72", "Kota Samarinda", "city", "64", "WITA")
    assert ref.region("64.08") == Region("64.08", "Kabupaten Kutai Timur", "regency", "64", "WITA")
    assert ref.region("31.01").level == "regency"  # Kabupaten Administrasi Kepulauan Seribu


def test_regions_in_lists_a_provinces_kabupaten_kota_in_code_order(ref: ReferenceData) -> None:
    kaltim = [r.code for r in ref.regions_in("64")]
    assert kaltim == ["64.01", "64.02", "64.03", "64.07", "64.08", "64.09", "64.11", "64.71", "64.72", "64.74"]
    kepri = {r.name for r in ref.regions_in("21")}
    assert {"Kota Batam", "Kota Tanjung Pinang", "Kabupaten Bintan"} <= kepri
    assert sum(len(ref.regions_in(p.code)) for p in ref.provinces()) == 514


def test_regions_in_an_unknown_province_is_empty(ref: ReferenceData) -> None:
    assert ref.regions_in("99") == []
    assert ref.region("99") is None


def test_a_province_without_a_time_zone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    without_kaltim = {code: zone for code, zone in PROVINCE_TIMEZONES.items() if code != "64"}
    monkeypatch.setattr(regions_module, "PROVINCE_TIMEZONES", without_kaltim)
    with pytest.raises(ReferenceDataError, match="province 64 .*no time zone"):
        regions_module.load_regions()


@pytest.mark.parametrize(
    ("code", "level", "zone"),
    [
        ("64", "province", "WITA"),  # Kaltim
        ("64.72", "city", "WITA"),  # Samarinda
        ("64.71", "city", "WITA"),  # Balikpapan
        ("64.08", "regency", "WITA"),  # Kutai Timur
        ("21", "province", "WIB"),  # Kepri
        ("62.71", "city", "WIB"),  # Palangka Raya
    ],
)
def test_regions_named_in_the_seed_articles_exist(ref: ReferenceData, code: str, level: str, zone: str) -> None:
    region = ref.region(code)
    assert region is not None
    assert (region.level, region.timezone) == (level, zone)


# --- institutions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("institution_id", "region_code", "zone"),
    [
        ("pemprov-kaltim", "64", "WITA"),
        ("pemkot-samarinda", "64.72", "WITA"),
        ("pemkot-balikpapan", "64.71", "WITA"),
        ("pemkab-kutai-timur", "64.08", "WITA"),
        ("pemprov-kepri", "21", "WIB"),
        ("pemkot-palangka-raya", "62.71", "WIB"),
        ("pemprov-papua", "91", "WIT"),
    ],
)
def test_seed_pemdas_are_tied_to_their_region_and_zone(
    ref: ReferenceData, institution_id: str, region_code: str, zone: str
) -> None:
    institution = ref.institution(institution_id)
    assert institution is not None
    assert (institution.region_code, institution.timezone) == (region_code, zone)


def test_demo_set_has_the_national_institutions(ref: ReferenceData) -> None:
    for institution_id in ("kemenpanrb", "kemendagri", "kemenkes", "kemendikdasmen", "kemenpu"):
        assert ref.institutions[institution_id].kind == "ministry"
    assert ref.institutions["bpjs-kesehatan"].kind == "agency"
    assert 15 <= len(ref.institutions) <= 20


def test_every_pemda_region_exists_and_matches_its_kind(ref: ReferenceData) -> None:
    for institution in ref.institutions.values():
        if institution.kind in ("ministry", "agency"):
            assert institution.region_code is None and institution.timezone == "WIB", institution.id
            continue
        region = ref.region(institution.region_code)
        assert region is not None, institution.id
        assert region.level == institution.kind, institution.id
        assert institution.timezone == region.timezone, institution.id


def test_every_institution_has_3_to_8_units_with_unique_ids(ref: ReferenceData) -> None:
    for institution in ref.institutions.values():
        ids = [unit.id for unit in institution.units]
        assert 3 <= len(ids) <= 8, institution.id
        assert len(set(ids)) == len(ids), institution.id


def test_kecamatan_units_are_real_kecamatan_of_their_region(ref: ReferenceData) -> None:
    from lokal.wilayah import list_wilayah

    checked = 0
    for institution in ref.institutions.values():
        kecamatan = [unit for unit in institution.units if unit.kind == "kecamatan"]
        if not kecamatan:
            continue
        assert institution.kind in ("regency", "city"), institution.id
        real = {w.name for w in list_wilayah(institution.region_code)}
        for unit in kecamatan:
            assert unit.name.removeprefix("Kecamatan ") in real, (institution.id, unit.name)
            checked += 1
    assert checked >= 10


def test_unit_lookup_by_id(ref: ReferenceData) -> None:
    samarinda = ref.institution("pemkot-samarinda")
    assert samarinda.unit("dinas-pupr") == Unit("dinas-pupr", "Dinas Pekerjaan Umum dan Penataan Ruang", "opd")
    assert samarinda.unit("kecamatan-samarinda-ulu").kind == "kecamatan"
    assert samarinda.unit("kecamatan-sungai-kunjang").name == "Kecamatan Sungai Kunjang"
    assert samarinda.unit("no-such-unit") is None
    assert ref.institution("no-such-institution") is None


def _write_institutions(tmp_path: Path, institutions: list[dict[str, Any]]) -> Path:
    path = tmp_path / "institutions.json"
    path.write_text(json.dumps({"institutions": institutions}), encoding="utf-8")
    return path


def _pemda(institution_id: str = "pemkot-x", region_code: str | None = "64.72", kind: str = "city") -> dict[str, Any]:
    return {
        "id": institution_id,
        "name": "Pemerintah Kota X",
        "kind": kind,
        "region_code": region_code,
        "units": [{"id": "dinas-kominfo", "name": "Dinas Komunikasi dan Informatika", "kind": "opd"}],
    }


def test_institution_loader_accepts_a_valid_file(ref: ReferenceData, tmp_path: Path) -> None:
    loaded = load_institutions(ref.regions, _write_institutions(tmp_path, [_pemda()]))
    assert loaded["pemkot-x"].timezone == "WITA"


def test_institution_loader_refuses_an_unknown_region_code(ref: ReferenceData, tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="unknown Kemendagri region code '64.99'"):
        load_institutions(ref.regions, _write_institutions(tmp_path, [_pemda(region_code="64.99")]))


def test_institution_loader_refuses_a_region_of_the_wrong_level(ref: ReferenceData, tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="must be tied to a city"):
        load_institutions(ref.regions, _write_institutions(tmp_path, [_pemda(region_code="64.08")]))


def test_institution_loader_refuses_a_duplicate_institution_id(ref: ReferenceData, tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="duplicate institution id 'pemkot-x'"):
        load_institutions(ref.regions, _write_institutions(tmp_path, [_pemda(), _pemda()]))


def test_institution_loader_refuses_a_duplicate_unit_id(ref: ReferenceData, tmp_path: Path) -> None:
    entry = _pemda()
    entry["units"] = entry["units"] * 2
    with pytest.raises(ReferenceDataError, match="duplicate unit id 'dinas-kominfo'"):
        load_institutions(ref.regions, _write_institutions(tmp_path, [entry]))


def test_institution_loader_refuses_a_ministry_with_a_region(ref: ReferenceData, tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="must have region_code null"):
        load_institutions(ref.regions, _write_institutions(tmp_path, [_pemda(kind="ministry")]))


def test_institution_loader_refuses_a_misspelt_key(ref: ReferenceData, tmp_path: Path) -> None:
    entry = _pemda()
    entry["region"] = entry.pop("region_code")
    with pytest.raises(ReferenceDataError, match="expected keys"):
        load_institutions(ref.regions, _write_institutions(tmp_path, [entry]))


# --- categories ------------------------------------------------------------------------------------------

DOMAIN_TOP_LEVEL = [
    "Infrastruktur", "Administrasi Kependudukan", "Kesehatan", "Pendidikan", "Transportasi", "Lingkungan Hidup",
    "Perizinan", "Ketenagakerjaan", "Bantuan Sosial", "Dana Desa", "Komunikasi dan Informatika", "Pelayanan Publik",
]


def test_top_level_categories_are_those_of_the_domain(ref: ReferenceData) -> None:
    assert [c.name for c in ref.top_level_categories()] == DOMAIN_TOP_LEVEL


def test_category_tree_has_exactly_two_levels(ref: ReferenceData) -> None:
    for category in ref.categories.values():
        if category.parent_id is None:
            assert 2 <= len(ref.children_of(category.id)) <= 4, category.id
        else:
            parent = ref.category(category.parent_id)
            assert parent is not None, category.id
            assert parent.parent_id is None, category.id  # no third level
            assert category.id.startswith(f"{parent.id}."), category.id


def test_named_subcategories_exist(ref: ReferenceData) -> None:
    names = {c.id: c.name for c in ref.categories.values()}
    assert names["infrastruktur"] == "Infrastruktur"
    assert {"Jalan Rusak", "Drainase", "Jembatan", "Penerangan Jalan"} == {
        c.name for c in ref.children_of("infrastruktur")
    }
    assert {"KTP-el", "Kartu Keluarga", "Akta Kelahiran"} <= {
        c.name for c in ref.children_of("administrasi-kependudukan")
    }
    jalan_rusak = Category("infrastruktur.jalan-rusak", "Jalan Rusak", "infrastruktur")
    assert ref.category("infrastruktur.jalan-rusak") == jalan_rusak


def test_only_subcategories_are_leaves(ref: ReferenceData) -> None:
    assert ref.is_leaf_category("infrastruktur.jalan-rusak")
    assert not ref.is_leaf_category("infrastruktur")
    assert not ref.is_leaf_category("no-such-category")


def _write_categories(tmp_path: Path, categories: list[dict[str, Any]]) -> Path:
    path = tmp_path / "categories.json"
    path.write_text(json.dumps({"categories": categories}), encoding="utf-8")
    return path


def test_category_loader_refuses_a_third_level(tmp_path: Path) -> None:
    nested = [{"id": "a", "name": "A", "children": [{"id": "a.b", "name": "B", "children": []}]}]
    with pytest.raises(ReferenceDataError, match="expected keys"):
        load_categories(_write_categories(tmp_path, nested))


def test_category_loader_refuses_a_child_id_outside_its_parent(tmp_path: Path) -> None:
    wrong = [{"id": "a", "name": "A", "children": [{"id": "b.c", "name": "C"}]}]
    with pytest.raises(ReferenceDataError, match="must be 'a.<slug>'"):
        load_categories(_write_categories(tmp_path, wrong))


def test_category_loader_refuses_a_duplicate_id(tmp_path: Path) -> None:
    twice = [{"id": "a", "name": "A", "children": []}, {"id": "a", "name": "A again", "children": []}]
    with pytest.raises(ReferenceDataError, match="duplicate category id 'a'"):
        load_categories(_write_categories(tmp_path, twice))


# --- JSON forms for the listing endpoints ----------------------------------------------------------------


def test_listing_dicts_are_json_safe(ref: ReferenceData) -> None:
    regions = [region_to_dict(r) for r in ref.regions.values()]
    institutions = [institution_to_dict(i) for i in ref.institutions.values()]
    tree = category_tree(ref.categories.values())
    json.dumps([regions, institutions, tree])  # raises if anything is not JSON-safe

    assert region_to_dict(ref.regions["64.72"]) == {
        "code": "64.72", "name": "Kota Samarinda", "level": "city", "province_code": "64", "timezone": "WITA",
    }
    samarinda = institution_to_dict(ref.institutions["pemkot-samarinda"])
    assert samarinda["region_code"] == "64.72" and samarinda["timezone"] == "WITA"
    assert {"id": "dinas-pupr", "name": "Dinas Pekerjaan Umum dan Penataan Ruang", "kind": "opd"} in samarinda["units"]
    assert institution_to_dict(ref.institutions["kemenpanrb"])["region_code"] is None


def test_category_tree_nests_children_under_their_parent(ref: ReferenceData) -> None:
    tree = category_tree(ref.categories.values())
    assert [node["name"] for node in tree] == DOMAIN_TOP_LEVEL
    infrastruktur = tree[0]
    assert infrastruktur["id"] == "infrastruktur" and infrastruktur["parent_id"] is None
    assert infrastruktur["children"][0] == category_to_dict(ref.categories["infrastruktur.jalan-rusak"])
    assert sum(len(node["children"]) for node in tree) == len(ref.categories) - len(tree)


# --- phone numbers and NIK -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["0812-3456-7890", "+62 812 3456 7890", "6281234567890", "081234567890", "812 3456 7890"]
)
def test_phone_numbers_written_any_common_way_normalize_to_one_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+6281234567890"


def test_landline_numbers_normalize_too() -> None:
    assert normalize_phone("(0541) 123456") == "+62541123456"  # Samarinda


@pytest.mark.parametrize("raw", ["", "hello", "12345", "0812", "0812-3456-7890-1234", "+1 415 555 0100", "0812abc4567"])
def test_invalid_phone_numbers_raise(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match="not a valid Indonesian phone number"):
        normalize_phone(raw)


def test_invalid_phone_number_is_a_value_error_that_does_not_echo_the_number() -> None:
    with pytest.raises(ValueError) as caught:
        normalize_phone("0812abc4567")
    assert isinstance(caught.value, InvalidPhoneNumber)
    assert "0812abc4567" not in str(caught.value)
    assert caught.value.reason  # lokal-id's reason, for the user


@pytest.mark.parametrize(
    "nik",
    [
        "6472011505900001",  # Samarinda, born 15-05-1990, male
        "6472015505900002",  # same date, female (day + 40)
        "3171 0101 0100 0003",  # separators are tolerated
    ],
)
def test_structurally_valid_niks(nik: str) -> None:
    assert is_valid_nik(nik)


@pytest.mark.parametrize(
    "nik",
    [
        "",
        "647201150590000",  # 15 digits
        "64720115059000011",  # 17 digits
        "64720115059A0001",  # a letter
        "9972011505900001",  # unknown province 99
        "6400011505900001",  # regency 00
        "6472013205900001",  # day 32
        "6472011513900001",  # month 13
        "6472011505900000",  # serial 0000
    ],
)
def test_structurally_invalid_niks(nik: str) -> None:
    assert not is_valid_nik(nik)


# --- loading ---------------------------------------------------------------------------------------------


def test_load_reference_is_cached() -> None:
    assert load_reference() is load_reference()


def test_reference_mappings_are_read_only(ref: ReferenceData) -> None:
    with pytest.raises(TypeError):
        ref.regions["99"] = ref.regions["64"]  # type: ignore[index]
    with pytest.raises(TypeError):
        ref.institutions["x"] = ref.institutions["kemenpanrb"]  # type: ignore[index]
    assert isinstance(ref.institutions["kemenpanrb"], Institution)


def test_importing_the_package_loads_no_data() -> None:
    # lokal is only imported (and its data read) when load_reference() or a validator is first called.
    code = "import sys, chalicelib.reference; assert 'lokal' not in sys.modules, 'lokal imported at import time'"
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)
