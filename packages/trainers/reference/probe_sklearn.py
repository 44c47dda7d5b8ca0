"""Reference linear probe: scikit-learn's LogisticRegression on the same codings.

Reads train_x.npy, train_y.npy, test_x.npy, test_y.npy from the folder given as the first
argument, standardises with the training mean and deviation (as aekit's probe does), fits a
multinomial logistic regression whose L2 matches aekit's (mean cross-entropy + l2 * |W|^2,
i.e. C = 1 / (2 * l2 * n)) and prints {"accuracy": ..., "train_accuracy": ...} as JSON.
"""
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

folder = sys.argv[1]
l2 = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-4
load = lambda name: np.load(f"{folder}/{name}.npy")
train_x, train_y, test_x, test_y = (load(n) for n in ("train_x", "train_y", "test_x", "test_y"))
mean = train_x.mean(axis=0)
sd = train_x.std(axis=0)
scale = np.where(sd > 1e-12, 1 / np.maximum(sd, 1e-12), 0)
train_x = (train_x - mean) * scale
test_x = (test_x - mean) * scale
model = LogisticRegression(C=1 / (2 * l2 * len(train_y)), max_iter=2000)
model.fit(train_x, train_y)
print(json.dumps({
    "accuracy": float(model.score(test_x, test_y)),
    "train_accuracy": float(model.score(train_x, train_y)),
}))
