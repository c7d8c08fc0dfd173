"""Quality scores of images, the gates that check them, and the quality stage of a build."""
