// tekton-gitlab: one `pulumi up` per environment gives GitLab -> Tekton -> GitOps builds.
// Config is validated first (every problem at once, nothing registered on error), then Tekton
// is installed, then each app gets its credentials, pipeline and trigger.
import { loadStackConfig } from "./config/load";
import { TektonInstall } from "./components/tektonInstall";

export = async () => {
  const config = loadStackConfig();
  const tekton = new TektonInstall("tekton", config.tekton);

  return {
    tekton: tekton.versions ?? null,
    apps: {},
  };
};
