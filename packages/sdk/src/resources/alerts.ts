import { paginate } from '../paginate.js';
import type { BodyOf, Call, QueryOf } from '../types.js';

/** The organization's alerts: list, show, acknowledge, resolve, assign, comment, mute. */
export function alertsApi(call: Call) {
  const id = (alertId: string) => ({ params: { id: alertId } });
  return {
    /** One page of alerts, newest first. */
    list: (query: QueryOf<'listAlerts'> = {}) => call('listAlerts', { query }),
    /** Every alert matching the query, following `nextCursor` page by page. */
    all: (query: QueryOf<'listAlerts'> = {}) =>
      paginate((cursor) => call('listAlerts', { query: { ...query, cursor } })),
    /** Active alerts by group key. */
    groups: () => call('listAlertGroups', {}),
    /** One alert with its evidence and comments. */
    get: (alertId: string) => call('getAlert', id(alertId)),
    acknowledge: (alertId: string) => call('acknowledgeAlert', { ...id(alertId), body: {} }),
    resolve: (alertId: string) => call('resolveAlert', { ...id(alertId), body: {} }),
    /** Assigns to a member of the organization; null: nobody. */
    assign: (alertId: string, userId: string | null) =>
      call('assignAlert', { ...id(alertId), body: { userId } }),
    comment: (alertId: string, body: string) =>
      call('commentAlert', { ...id(alertId), body: { body } }),
    /** Holds notifications and escalation back for `minutes`; null unmutes. */
    mute: (alertId: string, minutes: number | null, reason?: string) =>
      call('muteAlert', {
        ...id(alertId),
        body: { minutes, ...(reason !== undefined ? { reason } : {}) },
      }),
  };
}

/** Notification endpoints (webhooks, email), routing rules, deliveries and dead letters. */
export function notificationsApi(call: Call) {
  const id = (x: string) => ({ params: { id: x } });
  return {
    endpoints: {
      list: () => call('listNotificationEndpoints', {}),
      /** Its secrets (URL, signing secret, SMTP password) are sealed and never returned. */
      create: (body: BodyOf<'createNotificationEndpoint'>) =>
        call('createNotificationEndpoint', { body }),
      get: (endpointId: string) => call('getNotificationEndpoint', id(endpointId)),
      update: (endpointId: string, body: BodyOf<'updateNotificationEndpoint'>) =>
        call('updateNotificationEndpoint', { ...id(endpointId), body }),
      delete: (endpointId: string) => call('deleteNotificationEndpoint', id(endpointId)),
      /** Queues a test message. */
      test: (endpointId: string) =>
        call('testNotificationEndpoint', { ...id(endpointId), body: {} }),
    },
    rules: {
      list: () => call('listNotificationRules', {}),
      create: (body: BodyOf<'createNotificationRule'>) => call('createNotificationRule', { body }),
      get: (ruleId: string) => call('getNotificationRule', id(ruleId)),
      update: (ruleId: string, body: BodyOf<'updateNotificationRule'>) =>
        call('updateNotificationRule', { ...id(ruleId), body }),
      delete: (ruleId: string) => call('deleteNotificationRule', id(ruleId)),
    },
    deliveries: {
      /** One page, newest first; `{ state: 'dead' }` lists the dead letters. */
      list: (query: QueryOf<'listNotificationDeliveries'> = {}) =>
        call('listNotificationDeliveries', { query }),
      all: (query: QueryOf<'listNotificationDeliveries'> = {}) =>
        paginate((cursor) => call('listNotificationDeliveries', { query: { ...query, cursor } })),
      /** Queues a dead-lettered delivery again. */
      redrive: (deliveryId: string) =>
        call('redriveNotificationDelivery', { ...id(deliveryId), body: {} }),
    },
    /** Maintenance windows: alerts still recorded, their notifications held back. */
    windows: {
      /** Scheduled and active windows, soonest start first. */
      list: (query: QueryOf<'listMaintenanceWindows'> = {}) =>
        call('listMaintenanceWindows', { query }),
      create: (body: BodyOf<'createMaintenanceWindow'>) =>
        call('createMaintenanceWindow', { body }),
      get: (windowId: string) => call('getMaintenanceWindow', id(windowId)),
      delete: (windowId: string) => call('deleteMaintenanceWindow', id(windowId)),
    },
  };
}
