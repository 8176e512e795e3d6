// Default step images, pinned. Override per environment with `tekton-gitlab:images`.
export const DEFAULT_IMAGES = {
  /** git with a shell, for clone, commit and push. */
  git: "docker.io/alpine/git:v2.49.1",
  /** The maintained community fork of Kaniko (GoogleContainerTools/kaniko was archived in 2025). */
  kaniko: "ghcr.io/osscontainertools/kaniko:v1.28.0",
  /** kubectl for `kubectl patch --local`. */
  kubectl: "registry.k8s.io/kubectl:v1.34.2",
} as const;
