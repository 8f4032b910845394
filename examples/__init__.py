"""Examples for typedarr and nn: a tour, and MNIST data loading and training scripts."""
