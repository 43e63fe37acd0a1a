"""Writes ResNet50 (random weights: no download) as a SavedModel for throughput benchmarks.

Usage: python bench/make_resnet50.py OUT_DIR      (writes OUT_DIR/1/, a model_base_path layout)

Signature serving_default: input `keras_tensor` float32 [-1,224,224,3] -> `output_0` float32
[-1,1000] (softmax). Too big (~100 MB) for the test fixtures; run it in the test venv:
  $(node scripts/python-env.mjs) bench/make_resnet50.py bench/models/resnet50
"""

import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    export_dir = os.path.join(os.path.abspath(sys.argv[1]), "1")
    if os.path.exists(export_dir):
        shutil.rmtree(export_dir)
    keras.utils.set_random_seed(50)
    model = keras.applications.ResNet50(weights=None)

    # Keras' own export (ExportArchive). A tf.Module holding the Keras 3 model, saved with
    # tf.saved_model.save, loads in Python but fails in TF's C++ SavedModel loader (the one TF
    # Serving and jetserve use) with "Could not find variable …" at run time.
    model.export(export_dir, format="tf_saved_model", verbose=False)

    loaded = tf.saved_model.load(export_dir)
    sig = loaded.signatures["serving_default"]
    (out,) = sig(keras_tensor=tf.constant(np.zeros([2, 224, 224, 3], np.float32))).values()
    assert out.shape == (2, 1000), out.shape
    print(f"wrote {export_dir}: serving_default keras_tensor [-1,224,224,3] -> output_0 {list(out.shape)}")


if __name__ == "__main__":
    main()
