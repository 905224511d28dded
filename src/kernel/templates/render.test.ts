import { describe, expect, it } from 'vitest';
import { renderTemplate, templateVariables, TemplateSyntaxError, TemplateVariablesMissing } from './render.js';

describe('templates', () => {
  it('fills dotted variables and escapes HTML only when asked', () => {
    const values = { applicant: { name: '<b>Asha & "Ravi"</b>' }, n: 3 };
    expect(renderTemplate('Hi {{ applicant.name }}, {{n}} items', values)).toBe('Hi <b>Asha & "Ravi"</b>, 3 items');
    expect(renderTemplate('<p>{{applicant.name}}</p>', values, 'html')).toBe('<p>&lt;b&gt;Asha &amp; &quot;Ravi&quot;&lt;/b&gt;</p>');
  });

  it('names every missing variable; objects and null count as missing; inherited names are not looked up', () => {
    const fail = () => renderTemplate('{{a}} {{b.c}} {{d}} {{toString}}', { a: 'x', b: {}, d: null });
    expect(fail).toThrow(TemplateVariablesMissing);
    try {
      fail();
    } catch (err) {
      expect((err as TemplateVariablesMissing).missing).toEqual(['b.c', 'd', 'toString']);
    }
  });

  it('refuses malformed placeholders with their position', () => {
    expect(templateVariables('{{a}} and {{b}} {{a}}')).toEqual(['a', 'b']);
    expect(() => templateVariables('Hello {{name')).toThrow(/position 6: unmatched "\{\{"/);
    expect(() => templateVariables('Hello name}}')).toThrow(TemplateSyntaxError);
    expect(() => templateVariables('{{ a b }}')).toThrow(/position 0: "a b" is not a variable name/);
    expect(() => templateVariables('{{#each x}}')).toThrow(TemplateSyntaxError);
  });
});
