"""Where built-ins are found, and the template search order."""

from kzreport import resources


def test_builtins_exist():
    assert (resources.templates_dir() / "theme.yaml").is_file()
    assert (resources.assets_dir() / "schema" / "brief.schema.json").is_file()
    assert resources.default_source().name == "kazakhstan-2022.yaml"


def test_search_path_puts_user_folder_first(tmp_path):
    assert resources.template_search_path(tmp_path) == [tmp_path, resources.templates_dir()]


def test_search_path_without_user_folder_is_builtins_only():
    assert resources.template_search_path(None) == [resources.templates_dir()]
