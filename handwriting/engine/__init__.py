"""The reading engine, one module per step of a request: decoding, ink, ruled_lines, blobs, filters,
reading_order (together: segmentation), cutting, normalisation, recognition, reading. It imports
nothing from web, training or bench; model_io is the model's contract that every floor shares."""
