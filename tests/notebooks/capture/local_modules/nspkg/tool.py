import packaging.version
