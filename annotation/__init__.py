"""The annotation loop: choose what to label next (`suggest`), round-trip with Label Studio
(`labelstudio`), and find label errors in labelled data (`audit`)."""
