import { describe, expect, it } from '@jest/globals';
import { defineEnv, envVar } from './index.js';
import { z } from 'zod';

describe('defineEnv', () => {
  it('never shows the value of a secret variable', () => {
    const env = defineEnv('demo', {
      API_KEY: envVar(z.string().min(32, 'too short'), {
        description: 'key',
        expected: 'at least 32 characters',
        secret: true,
      }),
    });
    try {
      env.parse({ API_KEY: 'sekrit-value' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect((error as Error).message).not.toContain('sekrit-value');
      expect((error as Error).message).toContain('API_KEY: (value hidden) is invalid (too short)');
    }
  });
});
