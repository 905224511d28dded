/** What billing needs from a payment gateway; one adapter per provider (the sandbox speaks the HTTP one). */
export interface GatewayOutcome {
  /** Our order id, as given when the order was created. */
  orderId: string;
  gatewayRef: string;
  status: 'paid' | 'failed';
  amount: number;
  currency: string;
}

export interface PaymentGateway {
  readonly name: string;
  createOrder(order: { orderId: string; amount: number; currency: string; returnUrl: string; description: string }): Promise<{ gatewayRef: string; redirectUrl: string }>;
  /** Server-to-server status, for orders whose callback never came. */
  orderStatus(gatewayRef: string): Promise<{ status: 'paid' | 'failed' | 'pending'; amount: number; currency: string }>;
  /** Idempotent by `refundId`. */
  refund(gatewayRef: string, refund: { refundId: string; amount: number }): Promise<{ refundRef: string }>;
  /** The browser's return from checkout; throws when the signature does not verify. */
  parseRedirect(query: Record<string, unknown>): GatewayOutcome;
  /** A webhook; throws when the signature does not verify or its timestamp is outside the tolerance. */
  parseWebhook(rawBody: string, headers: Record<string, unknown>, nowMs: number): GatewayOutcome & { eventId: string };
}
