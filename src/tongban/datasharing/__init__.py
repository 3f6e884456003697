"""数据开放共享: the departments' shared datasets, their delivered quality, and the cascade to the
provincial exchange platform."""
