import { exampleHarness } from '../support/conversation-test';

describe('example "05 - Order status conversation.json"', function () {
  const h = exampleHarness('05 - Order status conversation.json');
  beforeEach(() => h.setUp());
  afterEach(() => h.tearDown());

  it('ORDER, then the ID, then the status', async function () {
    await h.reply('/exotel/order-status', 'ORDER');
    await h.expectText('Please reply with your order ID.');
    await h.reply('/exotel/order-status', 'A1234');
    await h.expectText('Your order A1234 status: Shipped. Expected delivery: Jan 22.');
    await h.reply('/exotel/order-status', 'thanks');
    await h.expectText('Reply ORDER to check the status of your order.');
  });

  it('goes on after a restart between ORDER and the ID', async function () {
    await h.reply('/exotel/order-status', 'order');
    await h.expectText('Please reply with your order ID.');
    await h.restart();
    await h.reply('/exotel/order-status', 'B-778');
    await h.expectText('Your order B-778 status: Shipped. Expected delivery: Jan 22.');
  });

  it('ORDER and the ID at the same moment: handled in arrival order', async function () {
    await Promise.all([h.reply('/exotel/order-status', 'ORDER'), h.reply('/exotel/order-status', 'C-42')]);
    const texts = await h.expectTexts(2);
    require('node:assert/strict').deepEqual(texts, ['Please reply with your order ID.', 'Your order C-42 status: Shipped. Expected delivery: Jan 22.']);
  });

  it('a callback repeated by Exotel advances nothing twice', async function () {
    const sid = await h.reply('/exotel/order-status', 'ORDER');
    await h.expectText('Please reply with your order ID.');
    await h.reply('/exotel/order-status', 'ORDER', { sid });
    await h.expectNothing();
  });
});
