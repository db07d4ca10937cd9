"""Choosing a model, the registry's memory bound, and Grad-CAM explanations, with the shipped models."""
import base64
import dataclasses
import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from handwriting import config
from handwriting.engine import explain, model_io
from handwriting.engine.recognition import Recognizer
from handwriting.web import registry
from handwriting.web.app import create_app
from helpers import URL, conforms, place_model, refused

SHIPPED = ("digit_cnn", "digit_linear", "digit_advanced")


def upload(data, **fields):
    return {"file": (io.BytesIO(data), "digits.png"), **fields}


def decode_png(text):
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(text))))


def test_every_shipped_model_is_listed_with_its_metadata(client, spec):
    response = client.get("/api/models")
    body = conforms(spec, response, "/api/models", "get")
    rows = {row["name"]: row for row in body["models"]}
    assert set(SHIPPED) <= set(rows)
    assert body["models"][0]["name"] == "digit_cnn" and [r["name"] for r in body["models"] if r["default"]] == ["digit_cnn"]
    for name in SHIPPED:
        meta = json.loads((config.ROOT / "models" / f"{name}.json").read_text())
        assert rows[name]["test_accuracy"] == meta["test_accuracy"] > 0.8
        assert rows[name]["parameters"] == meta["params"]
        assert rows[name]["size_bytes"] == (config.ROOT / "models" / f"{name}.keras").stat().st_size
        assert rows[name]["trained"] == meta["date"]


def test_every_shipped_card_names_what_its_model_learned_from_never_ardis():
    cards = sorted((config.ROOT / "models").rglob("*.json"))
    assert len(cards) >= 6
    for card in cards:
        learned = json.loads(card.read_text())["trained_on"]
        assert learned and all(entry["set"] and entry["licence"] for entry in learned), card
        assert "ardis" not in json.dumps(learned).lower(), card


@pytest.mark.parametrize("name", SHIPPED)
def test_each_model_reads_with_model_option(client, spec, digits_png, name):
    body = conforms(spec, client.post(URL, data=upload(digits_png, model=name)))
    assert body["model"]["name"] == name
    assert body["count"] == 3
    if name != "digit_linear":
        assert body["text"] == "721"


def test_model_is_also_a_query_and_json_option(client, spec, digits_png):
    by_query = conforms(spec, client.post(f"{URL}?model=digit_advanced", data=upload(digits_png)))
    by_json = conforms(spec, client.post(URL, json={"image": base64.b64encode(digits_png).decode(), "model": "digit_advanced"}))
    assert by_query["model"]["name"] == by_json["model"]["name"] == "digit_advanced"


@pytest.mark.parametrize("name", ["nope", "../models/digit_cnn", "digit_cnn.keras", ".digit_cnn.partial", "DIGIT_CNN"])
def test_a_name_not_in_the_list_is_400(client, spec, digits_png, name):
    body = refused(spec, client.post(URL, data=upload(digits_png, model=name)), 400, "unknown_model")
    assert "/api/models" in body["error"]["message"]


def test_a_model_that_is_not_a_string_is_400(client, spec, digits_png):
    image = base64.b64encode(digits_png).decode()
    refused(spec, client.post(URL, json={"image": image, "model": ["digit_cnn"]}), 400, "unknown_model")


def test_the_registry_holds_at_most_its_limit_and_keeps_the_default(tmp_path):
    for name in ("base", "a", "b", "c"):
        place_model(tmp_path, name)
    settings = dataclasses.replace(
        config.settings(), models_dir=tmp_path, model_path=tmp_path / "base.keras", max_loaded_models=2
    )
    models = registry.Models(settings)
    base = models.get()
    for name in ("a", "b", "c"):
        assert models.get(name).path.stem == name
        assert len(models._loaded) <= 2
    assert models.get() is base and models.ready()
    assert sorted(models._loaded) == ["base", "c"]
    place_model(tmp_path, "d")
    assert "d" in [row["name"] for row in models.listing()]  # a model trained while serving appears
    with pytest.raises(registry.UnknownModel):
        models.get("e")


def test_concurrent_requests_for_a_new_model_load_it_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    place_model(tmp_path, "base")
    place_model(tmp_path, "other")
    settings = dataclasses.replace(config.settings(), models_dir=tmp_path, model_path=tmp_path / "base.keras")
    models = registry.Models(settings)
    with ThreadPoolExecutor(6) as pool:
        engines = list(pool.map(lambda name: models.get(name), ["other", "base"] * 6))
    assert len({id(e) for e in engines[::2]}) == 1 and len({id(e) for e in engines[1::2]}) == 1
    assert engines[0] is not engines[1]


def test_every_model_the_registry_holds_shares_one_line_reader_and_one_turn_judge(tmp_path):
    for name in ("base", "other"):
        place_model(tmp_path, name)
    settings = dataclasses.replace(config.settings(), models_dir=tmp_path, model_path=tmp_path / "base.keras")
    models = registry.Models(settings)
    base, other = models.get(), models.get("other")
    assert base is not other and base.lines is not None and other.lines is base.lines
    assert base.turns is not None and other.turns is base.turns


def test_a_model_that_fails_to_load_is_503_until_its_file_changes(tmp_path, spec, digits_png, recognizer):
    (tmp_path / "broken.keras").write_bytes(b"not a model")
    settings = dataclasses.replace(config.settings(), models_dir=tmp_path)
    client = create_app(recognizer=recognizer, settings=settings).test_client()
    for _ in range(2):
        refused(spec, client.post(URL, data=upload(digits_png, model="broken")), 503, "model_unavailable")
    assert conforms(spec, client.post(URL, data=upload(digits_png)))["text"] == "721"
    place_model(tmp_path, "broken", link=False)
    assert conforms(spec, client.post(URL, data=upload(digits_png, model="broken")))["model"]["name"] == "broken"


def served_folder(folder, source, version):
    """A models folder whose default model, `served`, is a copy of a shipped one, with its card."""
    path = folder / "served.keras"
    place_model(folder, ".served.partial", source, link=False)
    for artifact in folder.glob(".served.partial.*onnx"):
        artifact.replace(folder / artifact.name.replace(".served.partial", "served"))
    meta = {**json.loads((config.ROOT / "models" / f"{source}.json").read_text()), "name": "served", "date": version}
    model_io.publish(folder / ".served.partial.keras", path, meta)
    return dataclasses.replace(config.settings(), models_dir=folder, model_path=path)


def test_a_model_replaced_while_serving_is_served_from_its_new_file(tmp_path, spec, digits_png, recognizer):
    """Training publishes over the served file: the next answer is read by the new model and names
    its version, in every worker, since each checks the file on use."""
    client = create_app(settings=served_folder(tmp_path, "digit_linear", "v1")).test_client()
    assert conforms(spec, client.post(URL, data=upload(digits_png)))["model"] == {"name": "served", "version": "v1"}
    served_folder(tmp_path, "digit_cnn", "v2")
    body = conforms(spec, client.post(URL, data=upload(digits_png)))
    assert body["model"] == {"name": "served", "version": "v2"}
    shipped = recognizer.read(digits_png).digits  # the same weights as v2
    assert [p["probability"] for p in body["predictions"]] == [round(d.probability, 4) for d in shipped]
    assert client.get("/api/ready").status_code == 200


def test_a_deleted_model_is_503_until_it_is_back(tmp_path, spec, digits_png):
    settings = served_folder(tmp_path, "digit_linear", "v1")
    client = create_app(settings=settings).test_client()
    assert client.get("/api/ready").status_code == 200
    (tmp_path / "served.keras").rename(tmp_path / "kept")
    refused(spec, client.post(URL, data=upload(digits_png)), 503, "model_unavailable")
    assert client.get("/api/ready").status_code == 503 and client.get("/api/health").get_json()["ready"] is False
    assert client.get("/api/models").get_json()["models"] == []
    (tmp_path / "kept").rename(tmp_path / "served.keras")
    assert conforms(spec, client.post(URL, data=upload(digits_png)))["model"]["version"] == "v1"


def test_the_listing_is_the_same_whichever_worker_answers(tmp_path):
    """Two registries stand for two workers, one of which has loaded more models: GET /api/models
    shows what is on disk, nothing that differs between them."""
    for name in ("base", "other"):
        place_model(tmp_path, name)
    settings = dataclasses.replace(config.settings(), models_dir=tmp_path, model_path=tmp_path / "base.keras")
    busy, idle = registry.Models(settings), registry.Models(settings)
    busy.get()
    busy.get("other")
    assert busy.listing() == idle.listing() and [row["name"] for row in idle.listing()] == ["base", "other"]


def test_explain_adds_a_heatmap_over_each_crop(client, spec, digits_png):
    body = conforms(spec, client.post(URL, data=upload(digits_png, explain="1", crops="1")))
    assert body["count"] == 3
    for prediction in body["predictions"]:
        heat = decode_png(prediction["heatmap"])
        crop = decode_png(prediction["crop"])
        assert heat.shape == (28, 28, 3) and crop.shape == (28, 28)
        assert not np.array_equal(heat[..., 0], heat[..., 2])  # coloured, not the grey crop


def test_explain_works_with_the_advanced_model(client, spec, digits_png):
    body = conforms(spec, client.post(URL, data=upload(digits_png, explain="1", model="digit_advanced")))
    assert [decode_png(p["heatmap"]).shape for p in body["predictions"]] == [(28, 28, 3)] * 3


def test_explain_with_the_linear_model_is_422(client, spec, digits_png):
    body = refused(spec, client.post(URL, data=upload(digits_png, explain="1", model="digit_linear")), 422,
                   "not_explainable")
    assert "linear" in body["error"]["message"]


def test_invalid_explain_is_400(client, spec, digits_png):
    refused(spec, client.post(URL, data=upload(digits_png, explain="maybe")), 400, "invalid_option")


def test_gradcam_has_the_crop_shape_and_peaks_on_the_strokes(recognizer, mnist):
    """The peak lies within 2 px of ink far more often than a random point would, and the strokes
    are hotter than the background: the map points at the digit, not at the empty field."""
    images, labels = mnist.x_test[:300], mnist.y_test[:300]
    heat = recognizer.explainer()(images, labels)
    assert heat.shape == images.shape and heat.dtype == np.float32
    assert heat.min() >= 0 and np.allclose(heat.max(axis=(1, 2)), 1)
    near_ink = [cv2.dilate(image, np.ones((5, 5), np.uint8)) > 127 for image in images]
    peaks = [mask[np.unravel_index(h.argmax(), h.shape)] for mask, h in zip(near_ink, heat)]
    chance = np.mean([mask.mean() for mask in near_ink])
    assert np.mean(peaks) >= max(2 * chance, chance + 0.3)  # 0.75 with the shipped model, chance 0.37
    ink = images > 127
    assert heat[ink].mean() > 1.5 * heat[~ink].mean()  # 1.64 times with the shipped model


def test_gradcam_follows_the_class_asked_for(recognizer, mnist):
    """Explaining another class than the one read gives another map: the gradient is per class."""
    images, labels = mnist.x_test[:20], mnist.y_test[:20]
    gradcam = recognizer.explainer()
    own, other = gradcam(images, labels), gradcam(images, (labels + 1) % 10)
    assert np.abs(own - other).mean() > 0.05


def test_the_linear_model_cannot_be_explained():
    linear = Recognizer(config.ROOT / "models" / "digit_linear.keras")
    with pytest.raises(explain.NotExplainable, match="linear"):
        linear.explainer()
