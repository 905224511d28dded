const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The sandbox's checkout page: the order, and buttons to pay or decline (a real form POST). */
export function checkoutPage(order: { id: string; amount: number; currency: string; description: string; status: string }): string {
  const amount = `${order.currency} ${(order.amount / 100).toFixed(2)}`;
  const form = (outcome: string, label: string) =>
    `<form method="post" action="/checkout/${esc(order.id)}"><input type="hidden" name="outcome" value="${outcome}"><button type="submit">${label}</button></form>`;
  const body =
    order.status === 'created'
      ? `${form('paid', `Pay ${esc(amount)}`)}${form('failed', 'Decline')}`
      : `<p>This order is already ${esc(order.status)}.</p>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox checkout</title></head>
<body><h1>Sandbox payment gateway</h1><p>Order <code>${esc(order.id)}</code>: ${esc(order.description)}</p>
<p class="amount">${esc(amount)}</p>${body}<p><small>Test gateway: no money moves.</small></p></body></html>`;
}
