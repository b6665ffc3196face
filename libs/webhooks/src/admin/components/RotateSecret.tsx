import React, { useState } from 'react';
import { Box, Button, FormGroup, Input, Label, Text } from '@adminjs/design-system';
import { Expiry, SecretPanel, usePostAction } from './actions';

const DAY = 86400;

/** Rotates the signing secret: shows the new secret once and when the previous ones stop signing. */
const RotateSecret = (props: any) => {
  const [grace, setGrace] = useState(String(DAY));
  const { run, busy, answer } = usePostAction(props);
  return (
    <Box p="xl" data-testid="rotate-secret">
      <Text mb="lg">
        A new secret signs from now on. The previous secrets keep signing alongside it for the grace period, so the receiver can switch
        without dropping messages. A grace of 0 ends them at once (for a leaked secret).
      </Text>
      <FormGroup>
        <Label htmlFor="graceSeconds">Grace period in seconds (0 to 604800)</Label>
        <Input
          id="graceSeconds"
          name="graceSeconds"
          type="number"
          min={0}
          max={604800}
          value={grace}
          onChange={(e: any) => setGrace(e.target.value)}
        />
      </FormGroup>
      <Button onClick={() => run({ graceSeconds: grace })} disabled={busy || Boolean(answer?.secret)} data-testid="rotate-button">
        Rotate secret
      </Button>
      {answer?.secret ? (
        <>
          <SecretPanel secret={answer.secret} />
          <Expiry at={answer.previousSecretsExpireAt} />
        </>
      ) : null}
    </Box>
  );
};

export default RotateSecret;
