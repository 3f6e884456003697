"""事项目录: a place's service items (政务服务事项) — codes, names, departments, types."""
