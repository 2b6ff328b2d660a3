/** The bounds and intervals of subscriptions, set by the server's configuration. */

export interface SubscriptionSettings {
  /** A heartbeat frame is sent when nothing else was sent for this long. */
  heartbeatMs: number;
  /** Open subscriptions per server (SSE, NDJSON, WebSocket and live views together). */
  maxSubscriptions: number;
  /** Open subscriptions per caller: per API key, or per client address on a server without keys. */
  maxSubscriptionsPerCaller: number;
  /**
   * Bytes a subscription may have handed to its connection that the client has not taken yet.
   * Past it the subscription stops reading events until the connection drains: the most
   * memory a slow client can cost is this, plus one page of events.
   */
  maxBufferedBytes: number;
  /** A subscription whose connection stays over the buffer bound this long is ended. */
  slowConsumerTimeoutMs: number;
  /** A live state view is rendered at most once per this interval. */
  liveViewIntervalMs: number;
  /**
   * How often the head of a followed database is read, for appends made by other servers
   * sharing the storage (appends on this server are seen at once).
   */
  pollIntervalMs: number;
}

export const DEFAULT_SUBSCRIPTION_SETTINGS: SubscriptionSettings = {
  heartbeatMs: 15_000,
  maxSubscriptions: 1000,
  maxSubscriptionsPerCaller: 100,
  maxBufferedBytes: 256 * 1024,
  slowConsumerTimeoutMs: 30_000,
  liveViewIntervalMs: 1000,
  pollIntervalMs: 500,
};

/** Events read per storage query while a subscription catches up. */
export const SUBSCRIPTION_PAGE = 500;
