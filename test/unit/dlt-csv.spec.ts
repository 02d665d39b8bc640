// The DLT portals' template export (CSV) read into the account's templates.
import assert from 'node:assert/strict';
import { categoryOf, csvRows, parseTemplatesCsv } from '../../src/sms/dlt-csv';

describe('DLT templates from CSV', () => {
  it('reads the portal’s columns, quoted text with commas, quotes and line breaks', () => {
    const csv = [
      'Template ID,Template Name,Template Type,Header,Template Content,Status',
      '1107161234567890123,OTP,Service Implicit,ACMEIN,"Your OTP is {#var#}, valid for 10 minutes. - ACME",Approved',
      '1107169876543210987,Sale,Promotional,123456,"Sale! Use code ""{#var#}""\nfor {#var#} off",Approved',
    ].join('\r\n');
    assert.deepEqual(parseTemplatesCsv(csv), {
      templates: [
        { id: '1107161234567890123', name: 'OTP', text: 'Your OTP is {#var#}, valid for 10 minutes. - ACME', category: 'service-implicit' },
        { id: '1107169876543210987', name: 'Sale', text: 'Sale! Use code "{#var#}"\nfor {#var#} off', category: 'promotional' },
      ],
      problems: [],
    });
  });

  it('accepts other spellings of the columns, semicolons and a byte-order mark', () => {
    const csv = '\uFEFFCONTENT_TEMPLATE_ID;template_message;Communication Type\n1107000000000000001;Hello {#var#};SERVICE_EXPLICIT\n';
    assert.deepEqual(parseTemplatesCsv(csv).templates, [{ id: '1107000000000000001', name: '', text: 'Hello {#var#}', category: 'service-explicit' }]);
    const tabs = 'DLT Template Id\tMessage\tContent Type\n42\tHi\tTransactional';
    assert.deepEqual(parseTemplatesCsv(tabs).templates, [{ id: '42', name: '', text: 'Hi', category: 'transactional' }]);
  });

  it('takes the kind from "Category" only when it names one (some portals put the subject there)', () => {
    const csv = 'Template Id,Category,Template Type,Template Content\n1,Banking,Transactional,Hi\n2,Promotional,,Sale';
    assert.deepEqual(parseTemplatesCsv(csv).templates.map((t) => [t.id, t.category]), [['1', 'transactional'], ['2', 'promotional']]);
  });

  it('reports the rows it cannot read, and reads the rest', () => {
    const csv = [
      'Template ID,Template Content,Template Type',
      ',Hello,Transactional',
      '1.10716E+18,Hello,Transactional',
      '3,,Transactional',
      '4,Hello,Service',
      '5,Hello,',
      '6,Hello,Promotional',
      '6,Hello again,Promotional',
    ].join('\n');
    const { templates, problems } = parseTemplatesCsv(csv);
    assert.deepEqual(templates.map((t) => t.id), ['6']);
    assert.deepEqual(problems, [
      { row: 2, reason: 'no template id' },
      { row: 3, reason: 'the template id "1.10716E+18" is not a DLT template id (a spreadsheet may have rounded it: save the column as text)' },
      { row: 4, reason: 'template 3 has no text' },
      { row: 5, reason: 'template 4 has the type "Service", none of transactional, service-implicit, service-explicit, promotional' },
      { row: 6, reason: 'template 5 has no type' },
      { row: 8, reason: 'template 6 is listed twice' },
    ]);
  });

  it('says what is missing from a file that is not a template list', () => {
    assert.deepEqual(parseTemplatesCsv(''), { templates: [], problems: [{ row: 1, reason: 'the file is empty' }] });
    assert.deepEqual(parseTemplatesCsv('phone,name\n+919876543210,Asha'), {
      templates: [],
      problems: [{ row: 1, reason: 'no "Template ID" and "Template Content" column in the header (phone, name)' }],
    });
    assert.equal(parseTemplatesCsv('Template ID,Name\n1,x').problems[0].reason, 'no "Template Content" column in the header (Template ID, Name)');
  });

  it('reads the categories as the portals write them', () => {
    assert.equal(categoryOf('Service Implicit'), 'service-implicit');
    assert.equal(categoryOf(' service_explicit '), 'service-explicit');
    assert.equal(categoryOf('PROMOTIONAL'), 'promotional');
    assert.equal(categoryOf('transactional'), 'transactional');
    assert.equal(categoryOf('Service'), null);
    assert.equal(categoryOf(undefined), null);
  });

  it('splits rows as RFC 4180 does', () => {
    assert.deepEqual(csvRows('a,"b,c",d\r\n"x""y",,\n\n', ','), [['a', 'b,c', 'd'], ['x"y', '', '']]);
    assert.deepEqual(csvRows('a,b', ','), [['a', 'b']]);
  });
});
