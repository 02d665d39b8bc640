// Every language besides en-US (nodes/locales/<lang>/, plugins/locales/<lang>/) says everything en-US
// says: the same keys, nothing more, each text with the same placeholders and HTML tags, and every node's
// help with the same sections and the same literal values (code, links). A key added to en-US without its
// translation fails here, naming the key.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const DIRS = [path.join(root, 'nodes', 'locales'), path.join(root, 'plugins', 'locales')];

/** The languages with a catalogue besides en-US, and hi at least. */
const languages = [...new Set(DIRS.flatMap((dir) => fs.readdirSync(dir).filter((name) => name !== 'en-US' && fs.statSync(path.join(dir, name)).isDirectory())))];

/** Every text of a catalogue by its dotted key. */
function texts(tree: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (tree && typeof tree === 'object' && !Array.isArray(tree)) {
    for (const [key, value] of Object.entries(tree)) texts(value, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.set(prefix, tree);
  }
  return out;
}

/** What a translation must keep as it is: `__name__` and `{{x}}` placeholders, HTML tags, sorted. */
function kept(text: string): string[] {
  return [...text.matchAll(/__[A-Za-z0-9_]+?__|\{\{[^}]*\}\}|<\/?[a-z][a-z0-9]*\b[^>]*>/g)].map((match) => match[0]).sort();
}

const DEVANAGARI = /[\u0900-\u097F]/;

/**
 * Texts that read the same in Hindi as in English: names from Exotel's dashboard, codes, examples of
 * what a user types, and texts made only of placeholders. Any other hi text equal to its en-US text
 * is an English text left untranslated.
 */
const SAME_IN_HINDI: Record<string, string[]> = {
  'exotel-account': ['exotel-account.label.accountSid', 'exotel-account.label.apiKey', 'exotel-account.label.apiToken', 'exotel-account.label.apiBaseUrl'],
  'keyword-switch': ['keyword-switch.placeholder.keywords'],
  'conversation-state': ['conversation-state.label.node'],
  'exotel-sms': ['exotel-sms.causes.other.cause'],
};

describe('translations: every language says what en-US says', function () {
  it('there is a Hindi catalogue beside en-US', function () {
    assert.ok(languages.includes('hi'), `languages found: ${languages.join(', ')}`);
  });

  for (const dir of DIRS) {
    const where = path.relative(root, dir);
    const catalogues = fs.readdirSync(path.join(dir, 'en-US')).filter((file) => file.endsWith('.json'));
    for (const language of languages) {
      describe(`${where}/${language}`, function () {
        for (const file of catalogues) {
          it(`${file}: the keys of en-US, no other, with the same placeholders and tags`, function () {
            const translated = path.join(dir, language, file);
            assert.ok(fs.existsSync(translated), `${where}/${language}/${file} is missing`);
            const english = texts(JSON.parse(fs.readFileSync(path.join(dir, 'en-US', file), 'utf8')));
            const other = texts(JSON.parse(fs.readFileSync(translated, 'utf8')));
            const missing = [...english.keys()].filter((key) => !other.has(key));
            const extra = [...other.keys()].filter((key) => !english.has(key));
            assert.deepEqual(missing, [], `keys of en-US/${file} not yet translated in ${language}/${file}`);
            assert.deepEqual(extra, [], `keys in ${language}/${file} that en-US/${file} does not have`);
            const same = SAME_IN_HINDI[file.replace(/\.json$/, '')] ?? [];
            for (const [key, text] of english) {
              const translation = other.get(key);
              assert.equal(typeof translation, typeof text, `${language}/${file} ${key}`);
              if (typeof text !== 'string') continue;
              assert.ok((translation as string).trim(), `${language}/${file} ${key} is empty`);
              assert.deepEqual(kept(translation as string), kept(text), `${language}/${file} ${key}: placeholders and tags as in en-US ("${text}")`);
              if (language === 'hi' && /[a-z]{3}/.test(text.replace(/__[A-Za-z0-9_]+?__|\{\{[^}]*\}\}|<[^>]*>/g, ''))) {
                if (same.includes(key)) assert.equal(translation, text, `${language}/${file} ${key} stays as in en-US`);
                else assert.match(translation as string, DEVANAGARI, `${language}/${file} ${key} is not translated: "${translation}"`);
              }
            }
          });
        }
      });
    }
  }

  describe('node help', function () {
    const helpDir = path.join(root, 'nodes', 'locales');
    const helpFiles = fs.readdirSync(path.join(helpDir, 'en-US')).filter((file) => file.endsWith('.html'));
    /** The parts of a help file a translation keeps: its sections, headings, code, examples and links. */
    const outline = (html: string) => ({
      sections: [...html.matchAll(/data-help-name="([^"]+)"/g)].map((match) => match[1]),
      headings: (html.match(/<h3>/g) ?? []).length,
      lists: [...html.matchAll(/<(dl|ol|ul|pre)\b/g)].map((match) => match[1]),
      code: [...html.matchAll(/<code>([\s\S]*?)<\/code>/g)].map((match) => match[1]).sort(),
      pre: [...html.matchAll(/<pre>([\s\S]*?)<\/pre>/g)].map((match) => match[1]),
      links: [...html.matchAll(/href="([^"]+)"/g)].map((match) => match[1]),
      // msg.<name> listed in Inputs and Outputs (settings, written as words, are translated)
      terms: [...html.matchAll(/<dt\b[^>]*>([\s\S]*?)<span/g)].map((match) => match[1].trim()).filter((term) => /^[a-z][A-Za-z]*$/.test(term)),
    });

    it('every node type has its help in en-US', function () {
      assert.ok(helpFiles.length >= 6, `help files: ${helpFiles.join(', ')}`);
    });

    for (const language of languages.filter((name) => fs.existsSync(path.join(helpDir, name)))) {
      for (const file of helpFiles) {
        it(`${language}/${file}: the sections, headings, lists, code, examples and links of en-US/${file}`, function () {
          const translated = path.join(helpDir, language, file);
          assert.ok(fs.existsSync(translated), `nodes/locales/${language}/${file} is missing`);
          const english = fs.readFileSync(path.join(helpDir, 'en-US', file), 'utf8');
          const other = fs.readFileSync(translated, 'utf8');
          const want = outline(english);
          const got = outline(other);
          assert.deepEqual(got.sections, want.sections, 'data-help-name sections');
          assert.equal(got.headings, want.headings, 'headings');
          assert.deepEqual(got.lists, want.lists, 'lists and examples, in order');
          assert.deepEqual(got.code, want.code, 'the code and values in <code>, which a user types as they are');
          assert.deepEqual(got.pre, want.pre, 'the examples in <pre>');
          assert.deepEqual(got.links, want.links, 'links');
          assert.deepEqual(got.terms, want.terms, 'the message properties (msg.<name>) listed');
          if (language === 'hi') {
            const words = other.replace(/<code>[\s\S]*?<\/code>|<pre>[\s\S]*?<\/pre>|<[^>]*>/g, ' ');
            const devanagari = (words.match(/[\u0900-\u097F]/g) ?? []).length;
            const latin = (words.match(/[A-Za-z]/g) ?? []).length;
            assert.ok(devanagari > 2 * latin, `${file} reads as Hindi (${devanagari} Devanagari letters, ${latin} Latin)`);
          }
        });
      }
    }
  });
});
