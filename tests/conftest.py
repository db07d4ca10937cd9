"""Shared fixtures: the real MNIST file, the real shipped model, one engine and one app per test
session, and the composed upload most API tests send. Helpers that are not fixtures are in helpers.py."""
import numpy as np
import pytest

from helpers import DIGITS, MNIST, MODEL, compose, png


@pytest.fixture(scope="session")
def mnist_path():
    """In CI the file is always there, so its absence is a failure, never a skip."""
    assert MNIST.is_file(), f"MNIST not found at {MNIST}"
    return MNIST


@pytest.fixture(scope="session")
def mnist(mnist_path):
    from handwriting.training import data

    return data.load(mnist_path)


@pytest.fixture(scope="session")
def recognizer():
    from handwriting.engine.recognition import Recognizer

    engine = Recognizer(MODEL)
    engine.warm()
    return engine


@pytest.fixture(scope="session")
def app(recognizer):
    from handwriting.web.app import create_app

    return create_app(recognizer=recognizer)


@pytest.fixture(scope="session")
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def spec(client):
    """The service's own OpenAPI document, checked to be valid."""
    from openapi_spec_validator import validate

    document = client.get("/api/openapi.json").get_json()
    validate(document)
    return document


@pytest.fixture(scope="session")
def digits_png(mnist):
    return png(compose(mnist, DIGITS))


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(1234)
