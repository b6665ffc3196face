import React from 'react';
import { Box, Label } from '@adminjs/design-system';
import { StateBadge } from './badges';

const StatusBadge = (props: any) => {
  const { record, property, where } = props;
  const badge = <StateBadge state={String(record?.params?.[property.path] ?? '')} />;
  if (where !== 'show') return badge;
  return (
    <Box mb="xl">
      <Label>{property.label}</Label>
      {badge}
    </Box>
  );
};

export default StatusBadge;
