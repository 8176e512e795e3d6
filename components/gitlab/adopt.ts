// After a create whose answer was lost (a dropped connection, a 5xx, a redirect, a page that is
// not GitLab's JSON, a 2xx without an id), GitLab may or may not have created the object. The
// POST is never sent again: that could leave a second hook, key or live token. Each provider
// instead lists the project's objects of that kind and adopts the one its create made. Only the
// listing and how to recognise "ours" differ per resource; asking GitLab, and the errors when it
// shows nothing was created or cannot be asked, are the same for all three, so they live here.
// Loaded with the providers in the provider process: it imports only errors.ts.
import { listAfterWrite, withoutHint, writeMayExistError, writeNotAppliedError } from "./errors";

/** The two errors a `pick` may end in, already carrying the lost create's error. */
export interface LostCreateOutcome {
  /** GitLab, listed afterwards, shows it did not create the object (`checked`: how we know). */
  notCreated(checked: string): Error;
  /** The object may exist, but the listing cannot tell which it is (`why`). */
  mayExist(why: string): Error;
}

export interface LostCreate<T> {
  /** What the object is called in messages: "deploy key", "hook", "access token". */
  what: string;
  project: string;
  /** Lists the project's objects of this kind (GETs, retried by the client). */
  list: () => Promise<T[]>;
  /** Where in GitLab to look for the object, for the advice of a "may exist" error. */
  where: string;
  /** What to do when GitLab cannot be asked, in place of the default advice. */
  next?: string;
  /** The object this create made, from the listing, or throws one of `outcome`'s errors. */
  pick: (listed: T[], outcome: LostCreateOutcome) => T;
}

/**
 * Asks GitLab what a create whose answer (`original`) was lost did, and returns the object it
 * made; throws a "not created" error (running again is safe) or a "may exist" error (what to
 * check before the next `up`), each starting with `original`'s message.
 */
export async function adoptAfterLostCreate<T>(original: Error, lost: LostCreate<T>): Promise<T> {
  const lookedWith = `list ${lost.what}s of project "${lost.project}"`;
  const outcome: LostCreateOutcome = {
    notCreated: (checked) => writeNotAppliedError(original, checked),
    mayExist: (why) =>
      writeMayExistError(original, lost.what, lookedWith, why, lost.where, lost.next),
  };
  const { listed, failure } = await listAfterWrite(lost.list);
  if (listed === undefined) throw outcome.mayExist(withoutHint(failure));
  return lost.pick(listed, outcome);
}
