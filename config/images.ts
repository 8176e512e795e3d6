// Default step images, pinned by tag. Override per environment with `tekton-gitlab:images`.
// Only tags confirmed published; where each was confirmed: README, section "Step images"
// (tests/config/images.test.ts keeps that list and this one equal). Not pinned by digest: no
// trustworthy stored source gave one.
export const DEFAULT_IMAGES = {
  /**
   * git with a shell (Alpine), for clone, commit and push, and the build task's `image-url`
   * step (only `sh` and `printf`: Kaniko's own image has no shell). Its /etc/passwd lists `nobody`
   * (65534), the UID the git steps run as: ssh refuses to run for a UID without an entry.
   */
  git: "docker.io/alpine/git:v2.52.0",
  /**
   * The maintained community fork of Kaniko (GoogleContainerTools/kaniko was archived in 2025).
   * The non-debug image: the build step passes arguments only and needs no shell.
   */
  kaniko: "ghcr.io/osscontainertools/kaniko:v1.28.3",
  /**
   * The official kubectl image, for `kubectl set image --local`. Since Kubernetes 1.28 it is
   * Debian-based (kubernetes/kubernetes build/server-image/kubectl) with bash, sed, grep and jq;
   * the step is a bash script. An override needs bash and kubectl on PATH (any
   * registry.k8s.io/kubectl from v1.28 on has both).
   */
  kubectl: "registry.k8s.io/kubectl:v1.36.0",
  /**
   * curl on Alpine (busybox sh), for the build status in GitLab (tekton/status/statusTasks.ts): the
   * only step that calls GitLab's API. curl/curl-container's release workflow pushes
   * `docker.io/curlimages/curl:<curl version>` for each of its tags; 8.21.0 is its newest.
   */
  curl: "docker.io/curlimages/curl:8.21.0",
} as const;
