import React from 'react';
import { Box, Label, Text } from '@adminjs/design-system';
import { Code, StateBadge, formatDate, pretty, jsonParam, usePropertyLabel } from './badges';

const BODY_LIMIT = 4000;

/** A delivery's attempts in order: trigger, status code, duration, error and the (stored, truncated) response body. */
const Attempts = (props: any) => {
  const { record, property } = props;
  const label = usePropertyLabel(property);
  const attempts: any[] = jsonParam(record, property.path, []);
  return (
    <Box mb="xl" data-testid="attempts">
      <Label variant="light">
        {label} ({attempts.length})
      </Label>
      {attempts.length === 0 ? <Text>No attempts yet.</Text> : null}
      {attempts.map((a) => {
        const ok = a.responseStatus >= 200 && a.responseStatus < 300;
        return (
          <Box key={a.id} mb="lg" p="lg" style={{ border: '1px solid #e1e4e8', borderRadius: 6 }} data-testid="attempt">
            <Box flex style={{ gap: 16, flexWrap: 'wrap', alignItems: 'center' }} mb="md">
              <strong>#{a.attemptNumber}</strong>
              <StateBadge state={ok ? 'succeeded' : 'failed'} />
              <span>
                trigger: <code>{a.trigger}</code>
              </span>
              <span>
                status code: <strong>{a.responseStatus ?? 'no response'}</strong>
              </span>
              <span>{a.durationMs} ms</span>
              <span>{formatDate(a.createdAt)}</span>
              {a.nextAttemptAt ? <span>next attempt: {formatDate(a.nextAttemptAt)}</span> : null}
            </Box>
            {a.error ? (
              <Text mb="md" style={{ color: '#c62828' }}>
                {a.error}
              </Text>
            ) : null}
            {a.responseBody ? <Code text={pretty(a.responseBody)} limit={BODY_LIMIT} /> : <Text>No response body.</Text>}
          </Box>
        );
      })}
    </Box>
  );
};

export default Attempts;
