TAG = "from-the-shared-layer"
