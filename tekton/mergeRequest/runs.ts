// How a merge request's PipelineRuns are told apart from the push builds' and from each other's:
// the label the cancel task selects one merge request's runs by.
import { AppConfig } from "../../config/schema";
import { appRunSelector } from "../cancel/cancelTask";

/**
 * Label on every merge request run: the merge request's iid (a number the Trigger checks). The
 * push builds' runs never carry it, so neither cancels the other's; its value keeps two merge
 * requests' runs apart.
 */
export const MERGE_REQUEST_LABEL = "tekton-gitlab.io/merge-request";

/**
 * The label selector of one merge request's runs, as the cancel task lists them (`iid`: the
 * value, or the `$(params...)` that holds it). The task also keeps only runs whose
 * `tekton-gitlab.io/branch` annotation (here the merge request's source branch) is its own run's.
 */
export function mergeRequestSelector(app: Pick<AppConfig, "name">, iid: string): string {
  return appRunSelector(app, MERGE_REQUEST_LABEL, iid);
}
