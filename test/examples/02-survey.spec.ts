import assert from 'node:assert/strict';
import { helper, collect, getNode } from '../support/red';
import { exampleHarness } from '../support/conversation-test';

const QUESTION = 'How was your experience? Reply 1 for Great, 2 for Good, 3 for Poor.';

describe('example "02 - Survey.json"', function () {
  const h = exampleHarness('02 - Survey.json');
  beforeEach(() => h.setUp());
  afterEach(() => h.tearDown());

  it('asks, thanks for 1 with the documented text, and hands the answer on', async function () {
    const answers = collect(getNode('survey-answers'));
    h.click('Send survey');
    await h.expectText(QUESTION);
    assert.equal(h.mock.sent[0].To, '+919876543210');
    await h.reply('/exotel/survey', '1');
    await h.expectText('Thank you for your feedback! We are glad you had a great experience.');
    assert.equal(answers.length, 1);
    assert.equal(answers[0].conversation.data.rating, '1');
    assert.equal(answers[0].phone, '+919876543210');
  });

  it('thanks 2 and 3 with their own texts, read from any way of writing them', async function () {
    h.click('Send survey');
    await h.expectText(QUESTION);
    await h.reply('/exotel/survey', '२.');
    await h.expectText(/happy you had a good experience/);
    h.click('Send survey');
    await h.expectText(QUESTION);
    await h.reply('/exotel/survey', ' 3 ');
    await h.expectText(/sorry your experience was poor/);
  });

  it('asks again on anything else, and keeps the survey open', async function () {
    h.click('Send survey');
    await h.expectText(QUESTION);
    await h.reply('/exotel/survey', 'it was ok I guess');
    await h.expectText(QUESTION);
    await h.reply('/exotel/survey', '1');
    await h.expectText(/great experience/);
  });

  it('a callback repeated by Exotel records one answer and thanks once', async function () {
    const answers = collect(getNode('survey-answers'));
    h.click('Send survey');
    await h.expectText(QUESTION);
    const sid = await h.reply('/exotel/survey', '2');
    await h.expectText(/good experience/);
    await h.reply('/exotel/survey', '2', { sid });
    await h.expectNothing();
    assert.equal(answers.length, 1);
  });

  it('answers a reply when no survey is open', async function () {
    await h.reply('/exotel/survey', '1');
    await h.expectText(/no open survey/);
  });

  it('two replies at once: the first answers, the second finds the survey closed', async function () {
    const answers = collect(getNode('survey-answers'));
    h.click('Send survey');
    await h.expectText(QUESTION);
    await Promise.all([h.reply('/exotel/survey', '1'), h.reply('/exotel/survey', '3')]);
    const texts = await h.expectTexts(2);
    assert.equal(answers.length, 1, 'one answer recorded');
    const thanks = answers[0].conversation.data.rating === '1' ? /great experience/ : /poor/;
    assert.ok(texts.some((t) => thanks.test(t)), JSON.stringify(texts));
    assert.ok(texts.some((t) => /no open survey/.test(t)), JSON.stringify(texts));
  });
});
