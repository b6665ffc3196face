import React, { useState } from 'react';
import { Box, Button, FormGroup, Input, Label, Text } from '@adminjs/design-system';
import { usePostAction } from './actions';

const local = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);

/** Sends again the endpoint's failed deliveries created since a date. */
const Recover = (props: any) => {
  const [since, setSince] = useState(local(new Date(Date.now() - 86400000)));
  const { run, busy, answer } = usePostAction(props);
  return (
    <Box p="xl" data-testid="recover">
      <Text mb="lg">
        Schedules again every failed delivery of this endpoint created since the time below (after an outage, or after enabling it again).
        Each starts a new round of the retry schedule; its attempts are logged with trigger <code>recover</code>.
      </Text>
      <FormGroup>
        <Label htmlFor="since">Failed since (your local time)</Label>
        <Input id="since" name="since" type="datetime-local" value={since} onChange={(e: any) => setSince(e.target.value)} />
      </FormGroup>
      <Button
        onClick={() => {
          const d = new Date(since);
          run({ since: Number.isNaN(d.getTime()) ? since : d.toISOString() });
        }}
        disabled={busy || !since}
        data-testid="recover-button"
      >
        Recover failed deliveries
      </Button>
      {answer && typeof answer.count === 'number' ? (
        <Text mt="xl" data-testid="recover-count">
          <strong>{answer.count}</strong> {answer.count === 1 ? 'delivery' : 'deliveries'} scheduled again.
        </Text>
      ) : null}
    </Box>
  );
};

export default Recover;
