"""site.yaml -> SiteConfig: every key declared, every problem named by key."""

from pathlib import Path

import pytest

from haven.config import load_config
from haven.errors import ConfigError

MINIMAL = "title: Test site\nbase_url: https://example.org/\n"


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "site.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def messages(exc: ConfigError) -> list[str]:
    return [d.format() for d in exc.diagnostics]


def test_minimal_config_has_defaults(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.title == "Test site"
    assert config.base_path == "/"
    assert config.output_dir == "_site"
    assert config.page_size == 10
    assert str(config.timezone) == "UTC"


def test_sub_path_base_url(tmp_path):
    config = load_config(write(tmp_path, "title: T\nbase_url: https://example.org/haven\n"))
    assert config.base_url == "https://example.org/haven/"
    assert config.base_path == "/haven/"


def test_unknown_key_suggests_the_declared_one(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, MINIMAL + "page_sise: 5\n"))
    assert messages(info.value) == [
        "site.yaml:3: error: 'page_sise': unknown key (did you mean 'page_size'?)"
    ]
    assert info.value.exit_code == 2


def test_every_problem_reported_at_once(tmp_path):
    text = "base_url: ftp://x\npage_size: 0\ntimezone: Mars/Base\n"
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    found = messages(info.value)
    assert "site.yaml: error: 'title': missing required key" in found
    assert any("'base_url': expected an absolute http(s) URL" in m for m in found)
    assert any(
        m.startswith("site.yaml:2: error: 'page_size': expected a whole number >= 1") for m in found
    )
    assert any("'timezone': unknown time zone 'Mars/Base'" in m for m in found)


def test_nested_keys_are_named(tmp_path):
    text = MINIMAL + "exit_this_page:\n  enabled: yes please\n  histroy: replace\n"
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    found = messages(info.value)
    assert any("'exit_this_page.enabled': expected true or false" in m for m in found)
    assert any(
        "'exit_this_page.histroy': unknown key (did you mean 'history'?)" in m for m in found
    )


def test_topic_vocabulary_keys_are_normalised_and_aliases_checked(tmp_path):
    text = MINIMAL + (
        "topics:\n"
        "  - {key: Self-Care, label: Self-care, aliases: ['#SelfCompassion']}\n"
        "  - {key: selfcompassion, label: Dup}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert any(
        "'selfcompassion' is already used by topic 'selfcare'" in m for m in messages(info.value)
    )


def test_support_lines_tel_digits(tmp_path):
    text = MINIMAL + (
        "support:\n"
        "  - {name: Line, region: GB, phone: '116 123', url: 'https://example.org/'}\n"
        "  - {name: Bad, region: GB, phone: 'call us'}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert any(
        "'support[1].phone': 'call us' is not a phone number" in m for m in messages(info.value)
    )
    good = load_config(
        write(tmp_path, MINIMAL + text.split(MINIMAL)[1].rsplit("  - {name: Bad", 1)[0])
    )
    assert good.support[0].tel == "116123"


def test_invalid_yaml_names_line(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, MINIMAL + "description: a: b\n"))
    (d,) = info.value.diagnostics
    assert d.line == 3 and "invalid YAML" in d.message


def test_aliases_refused(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, MINIMAL + "description: &a hi\nauthor: *a\n"))
    assert "YAML aliases are not allowed" in messages(info.value)[0]


def test_missing_site_yaml(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert "no site.yaml" in messages(info.value)[0]


def test_output_dir_cannot_be_a_source_folder(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, MINIMAL + "output_dir: content\n"))
    assert messages(info.value)[0].startswith(
        "site.yaml:3: error: 'output_dir': content is inside content/, the site's sources"
    )


def test_project_site_yaml_is_valid():
    config = load_config(Path(__file__).resolve().parent.parent)
    assert len(config.topics) >= 10
    assert config.exit_this_page.enabled
