"""Making and measuring models on top of the engine: MNIST loading, augmentation, the training
images of "not one digit" (composition.py), architectures, train, finetune, evaluate, robustness."""
