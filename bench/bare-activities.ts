// The bare workflow's activity: does nothing, so what remains is Temporal's own cost per activity.
export const bareActivities = {
  async noop(i: number): Promise<number> {
    return i;
  },
};

export type BareActivities = typeof bareActivities;
