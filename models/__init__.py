"""Classifier (one encoder, topic + sentiment heads), inference engine, training, evaluation."""
