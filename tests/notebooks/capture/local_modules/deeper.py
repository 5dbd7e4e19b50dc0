import docker
