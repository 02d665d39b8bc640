// Shared set-up for the example specs: a mock Exotel, a store file, the example loaded, and
// assertions on the SMS that go out.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { helper, settings, getNode } from './red';
import { MockExotel } from './mock-exotel';
import { loadExample, type LoadedExample, type ReplyOptions } from './examples';
import { until, wait } from './wait';

export interface ExampleHarness {
  mock: MockExotel;
  example: LoadedExample;
  dir: string;
  sentSeen: number;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  restart(): Promise<void>;
  texts(): string[];
  click(name: string): void;
  reply(webhookPath: string, body: string, options?: ReplyOptions): Promise<string>;
  expectTexts(count: number, quietMs?: number): Promise<string[]>;
  expectText(expected: string | RegExp): Promise<string>;
  expectNothing(ms?: number): Promise<void>;
}

function exampleHarness(file: string): ExampleHarness {
  // mock, example and dir are set by setUp(), which every spec runs first (beforeEach)
  const h: ExampleHarness = {
    mock: undefined as unknown as MockExotel,
    example: undefined as unknown as LoadedExample,
    dir: '',
    sentSeen: 0,
    async setUp() {
      h.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exotel-example-'));
      h.sentSeen = 0;
      h.mock = await new MockExotel().start();
      settings({ exotelSms: { storePath: path.join(h.dir, 'exotel-sms.db'), retryBaseDelayMs: 5, conversationTimerMs: 250, conversationHoldMs: 500 } });
      h.example = await loadExample(file, h.mock.url);
    },
    async tearDown() {
      await helper.unload();
      await h.mock.stop();
      fs.rmSync(h.dir, { recursive: true, force: true });
    },
    /** Node-RED stops and starts again on the same store file. */
    async restart() {
      await helper.unload();
      h.example = await loadExample(file, h.mock.url);
    },
    texts: () => h.mock.sent.map((s) => s.Body),
    click(name) {
      getNode(h.example.node(name).id).receive({});
    },
    reply: (webhookPath, body, options) => h.example.reply(webhookPath, body, options),
    /** Waits for the next `count` SMS and returns their texts; then checks nothing more goes out. */
    async expectTexts(count, quietMs = 100) {
      const before = h.sentSeen || 0;
      await until(() => h.mock.sent.length >= before + count, 4000, `${count} more SMS (so far: ${JSON.stringify(h.texts().slice(before))})`);
      await wait(quietMs);
      const texts = h.texts().slice(before);
      assert.equal(texts.length, count, `expected ${count} SMS, got ${JSON.stringify(texts)}`);
      h.sentSeen = before + count;
      return texts;
    },
    async expectText(expected) {
      const [text] = await h.expectTexts(1);
      if (expected instanceof RegExp) assert.match(text, expected);
      else assert.equal(text, expected);
      return text;
    },
    async expectNothing(ms = 300) {
      await wait(ms);
      assert.deepEqual(h.texts().slice(h.sentSeen || 0), []);
    },
  };
  return h;
}

export { exampleHarness };
