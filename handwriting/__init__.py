"""digit-reader: read handwritten digits and numbers from images."""
from handwriting import quiet_tensorflow

quiet_tensorflow.install()
