import React from 'react';
import { Box, Label } from '@adminjs/design-system';
import { StateBadge } from './badges';

const HealthBadge = (props: any) => {
  const { record, property, where } = props;
  const state = record?.params?.[property.path] ?? 'untested';
  const failures = Number(record?.params?.consecutiveFailures ?? 0);
  const badge = (
    <span style={{ display: 'inline-flex', gap: 8, alignItems: 'center' }}>
      <StateBadge state={state} />
      {failures > 0 ? <small>{failures} failed in a row</small> : null}
    </span>
  );
  if (where !== 'show') return badge;
  return (
    <Box mb="xl">
      <Label>{property.label}</Label>
      {badge}
    </Box>
  );
};

export default HealthBadge;
