"""Benchmarks of the engine and the service, `python -m handwriting.bench`: accuracy on composed
images (synth.py, drawing.py) and real photos, speed, load; common.py holds what they share."""
