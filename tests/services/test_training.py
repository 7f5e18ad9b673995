"""Labels in, a trained model version out, and back to the pretrained one (CLI end to end)."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from photosim.cli import main

from support.helpers import copy_photos


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def labelled(tmp_path, caltech, capsys):
    tree = copy_photos(tmp_path / "photos", classes=("accordion", "camera", "pizza", "cup"), per_class=6)
    lib = str(tmp_path / "lib")
    assert main(["--library", lib, "index", "-q", str(tree)]) == 0
    rows = ["anchor,positive,negative"]
    for c, other in (("accordion", "camera"), ("camera", "pizza"), ("pizza", "accordion")):
        ps = sorted(p.name for p in (tree / c).iterdir())
        qs = sorted(p.name for p in (tree / other).iterdir())
        for i in range(3):
            rows.append(f"{c}/{ps[i]},{c}/{ps[i + 1]},{other}/{qs[i]}")
    rows.append("accordion/missing.jpg,camera/image_0001.jpg,pizza/image_0001.jpg")  # not in the library
    rows.append("only,two")
    csv = tree / "labels.csv"
    csv.write_text("\n".join(rows) + "\n")
    capsys.readouterr()
    return lib, tree, csv


def test_import_reports_bad_rows_and_keeps_the_rest(labelled, capsys):
    lib, tree, csv = labelled
    code, out, err = run(capsys, "--library", lib, "label", "import", str(csv))
    assert code == 1  # some rows were skipped
    assert "imported 0 pairs and 9 triplets; 2 rows skipped" in out
    assert "line 11: not in the library" in err and "line 12: expected 3 columns" in err
    code, out, _ = run(capsys, "--library", lib, "label", "list", "--json")
    assert len(json.loads(out)["triplets"]) == 9


def test_pairs_list_and_remove(labelled, capsys):
    lib, tree, _ = labelled
    a, b = sorted((tree / "cup").iterdir())[:2]
    assert run(capsys, "--library", lib, "label", "same", str(a), str(b))[0] == 0
    code, out, _ = run(capsys, "--library", lib, "label", "different", str(a), str(sorted((tree / "pizza").iterdir())[0]))
    assert code == 0
    pairs = json.loads(run(capsys, "--library", lib, "label", "list", "--json")[1])["pairs"]
    assert [p["label"] for p in pairs] == ["same", "different"]
    assert run(capsys, "--library", lib, "label", "remove", str(pairs[0]["id"]), "--pair")[0] == 0
    assert len(json.loads(run(capsys, "--library", lib, "label", "list", "--json")[1])["pairs"]) == 1
    code, _, err = run(capsys, "--library", lib, "label", "remove", "999")
    assert code == 2 and "no label with id 999" in err


@pytest.mark.slow
def test_train_switches_model_and_models_use_0_goes_back(labelled, capsys, tmp_path):
    lib, tree, csv = labelled
    run(capsys, "--library", lib, "label", "import", str(csv))
    query = str(sorted((tree / "accordion").iterdir())[0])
    before = json.loads(run(capsys, "--library", lib, "similar", query, "-k", "8", "--json")[1])

    code, out, err = run(capsys, "--library", lib, "train", "--epochs", "20", "--seed", "1")
    assert code == 0, err
    assert "now in use" in out
    models = json.loads(run(capsys, "--library", lib, "models", "--json")[1])
    assert [m["id"] for m in models] == [0, 1] and models[1]["active"]
    assert models[1]["vectors"] == models[0]["vectors"] == 24  # every photo moved to the new version
    assert models[1]["summary"]["triplets"] == 9

    out_npz = tmp_path / "trained.npz"
    run(capsys, "--library", lib, "export", str(out_npz))
    assert int(np.load(out_npz)["model"]) == 1
    after = json.loads(run(capsys, "--library", lib, "similar", query, "-k", "8", "--json")[1])
    assert [h["similarity"] for h in after] != [h["similarity"] for h in before]

    assert run(capsys, "--library", lib, "models", "use", "0")[0] == 0
    back = json.loads(run(capsys, "--library", lib, "similar", query, "-k", "8", "--json")[1])
    assert back == before


def test_train_without_labels_is_a_clear_error(labelled, capsys):
    lib, _, _ = labelled
    code, _, err = run(capsys, "--library", lib, "train")
    assert code == 2 and "no usable labels" in err


def test_import_pair_labels_and_train_on_them(labelled, capsys):
    """`a,b,label` rows become same/different pairs (paths relative to the CSV), bad rows are named."""
    lib, tree, _ = labelled
    cups = sorted(p.name for p in (tree / "cup").iterdir())
    pizzas = sorted(p.name for p in (tree / "pizza").iterdir())
    pairs = tree / "pairs.csv"
    pairs.write_text("a,b,label\n"
                     f"cup/{cups[0]},cup/{cups[1]},same\n"
                     f"cup/{cups[2]},cup/{cups[3]},SAME\n"
                     f"cup/{cups[0]},pizza/{pizzas[0]},different\n"
                     f"cup/{cups[1]},pizza/{pizzas[1]},maybe\n"
                     f"cup/{cups[1]},cup/{cups[1]},same\n")
    code, out, err = run(capsys, "--library", lib, "label", "import", str(pairs))
    assert code == 1 and "imported 3 pairs and 0 triplets; 2 rows skipped" in out
    assert "line 5: label must be 'same' or 'different'" in err and "line 6: a pair needs two different photos" in err
    listed = json.loads(run(capsys, "--library", lib, "label", "list", "--json")[1])["pairs"]
    got = {(frozenset(os.path.relpath(p[k], tree) for k in ("a", "b")), p["label"]) for p in listed}
    assert got == {(frozenset({f"cup/{cups[0]}", f"cup/{cups[1]}"}), "same"),
                   (frozenset({f"cup/{cups[2]}", f"cup/{cups[3]}"}), "same"),
                   (frozenset({f"cup/{cups[0]}", f"pizza/{pizzas[0]}"}), "different")}
    code, out, _ = run(capsys, "--library", lib, "train", "--epochs", "2")  # pairs alone are enough to train
    assert code == 0 and "on 0 triplets and 3 pairs" in out
