// The flows of the reply pipeline: ours (inbound → keyword-switch → opt-out check → conversation route
// → exotel-send) and the same job built naively from core nodes, as a user would (http in → http
// response + change → http request). The naive flow does not dedupe Exotel's retries, checks no
// opt-out, keeps no conversation and stores nothing: a reply is lost if Node-RED stops mid-way.
import { WEBHOOK_TOKEN } from '../lib/traffic';

export const REPLY_TEXT = 'Thank you for your message. Reply HELP for help or STOP to stop these messages.';
export const OUR_PATH = '/exotel/reply';
export const NAIVE_PATH = '/naive/reply';
export const OUR_ACCOUNT = 'benchreply';
export const NAIVE_ACCOUNT = 'benchnaive';

const REPLY_BODIES = ['Hi', 'HELP', 'yes please', '2', 'Where is my order?', 'START', 'ok thanks'];

export function replyCallbackBody(sid: string, phone: string, i: number): string {
  return `SmsSid=${sid}&From=0${phone}&To=01140123456&Body=${encodeURIComponent(REPLY_BODIES[i % REPLY_BODIES.length])}&AccountSid=${OUR_ACCOUNT}`;
}

export interface FlowSet {
  flows: object[];
  credentials: Record<string, object>;
}

export function ourReplyFlows(mockUrl: string): FlowSet {
  const flows = [
    { id: 'reply-tab', type: 'tab', label: 'reply pipeline' },
    {
      id: 'reply-account', type: 'exotel-account', name: 'bench (rate limit lifted)', accountSid: OUR_ACCOUNT, apiBaseUrl: mockUrl,
      defaultFrom: 'BENCH', dltEntityId: '', defaultCountry: 'IN', mode: 'live', rateLimit: 100_000_000, queueLimit: 100_000,
    },
    { id: 'reply-inbound', z: 'reply-tab', type: 'exotel-inbound', account: 'reply-account', path: OUR_PATH, allowList: '', wires: [['reply-keywords']] },
    {
      id: 'reply-keywords', z: 'reply-tab', type: 'keyword-switch', property: 'payload', propertyType: 'msg',
      rules: [{ t: 'keywords', v: 'START, UNSTOP, SUBSCRIBE' }, { t: 'keywords', v: 'STOP, UNSUBSCRIBE, QUIT, END, OPTOUT' }, { t: 'keywords', v: 'HELP, INFO' }],
      matchMode: 'whole', typos: false, checkall: 'false', outputs: 4,
      wires: [['reply-check'], ['reply-check'], ['reply-check'], ['reply-check']],
    },
    // check: opted in | opted out | unknown
    { id: 'reply-check', z: 'reply-tab', type: 'opt-out-store', action: 'check', phone: 'phone', phoneType: 'msg', defaultCountry: 'IN', importAs: 'opted-out', outputs: 3, wires: [['reply-route'], [], ['reply-route']] },
    // route: answer | no active conversation | timed out
    {
      id: 'reply-route', z: 'reply-tab', type: 'conversation-state', conversation: 'survey', action: 'route', key: 'phone', keyType: 'msg',
      step: '', steps: ['answer'], timeout: '', maxAge: 24, data: '', dataType: 'none', saveAs: '', code: false, outputs: 3,
      wires: [['reply-send'], ['reply-send'], []],
    },
    {
      id: 'reply-send', z: 'reply-tab', type: 'exotel-send', account: 'reply-account', to: 'phone', toType: 'msg', text: REPLY_TEXT, textType: 'str',
      from: '', dltTemplateId: '', smsType: '', priority: '', statusCallback: '', attempts: 4, optOutConfirmation: false, wires: [[], []],
    },
  ];
  return { flows, credentials: { 'reply-account': { apiKey: 'bench-key', apiToken: 'bench-secret', webhookToken: WEBHOOK_TOKEN } } };
}

export function naiveReplyFlows(mockUrl: string): FlowSet {
  const flows = [
    { id: 'naive-tab', type: 'tab', label: 'naive reply' },
    { id: 'naive-in', z: 'naive-tab', type: 'http in', url: NAIVE_PATH, method: 'post', upload: false, swaggerDoc: '', wires: [['naive-response', 'naive-change']] },
    { id: 'naive-response', z: 'naive-tab', type: 'http response', statusCode: '200', headers: {}, wires: [] },
    {
      id: 'naive-change', z: 'naive-tab', type: 'change', name: 'form for send.json',
      rules: [
        { t: 'set', p: 'payload.To', pt: 'msg', to: 'payload.From', tot: 'msg' },
        { t: 'set', p: 'payload.From', pt: 'msg', to: 'BENCH', tot: 'str' },
        { t: 'set', p: 'payload.Body', pt: 'msg', to: REPLY_TEXT, tot: 'str' },
        { t: 'delete', p: 'payload.SmsSid', pt: 'msg' },
        { t: 'delete', p: 'payload.AccountSid', pt: 'msg' },
        { t: 'set', p: 'headers', pt: 'msg', to: '{"content-type":"application/x-www-form-urlencoded"}', tot: 'json' },
      ],
      wires: [['naive-request']],
    },
    {
      // keep-alive on ("persist"): the strongest naive flow (the default, off, opens a connection a request)
      id: 'naive-request', z: 'naive-tab', type: 'http request', name: 'POST send.json', method: 'POST', ret: 'txt', paytoqs: 'ignore',
      url: `${mockUrl}/v1/Accounts/${NAIVE_ACCOUNT}/Sms/send.json`, tls: '', persist: true, proxy: '', insecureHTTPParser: false,
      authType: 'basic', senderr: false, headers: [], wires: [[]],
    },
  ];
  return { flows, credentials: { 'naive-request': { user: 'bench-key', password: 'bench-secret' } } };
}
