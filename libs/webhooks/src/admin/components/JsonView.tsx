import React from 'react';
import { Box, Label } from '@adminjs/design-system';
import { flat } from 'adminjs';
import { Code, pretty, usePropertyLabel } from './badges';

/** A JSON value (or JSON text) pretty-printed; long values are cut for display. Nothing at all when empty. */
const JsonView = (props: any) => {
  const { record, property } = props;
  const label = usePropertyLabel(property);
  const value = flat.get(record?.params ?? {}, property.path);
  const text = pretty(value);
  if (!text || text === '{}' || text === '[]') return null;
  return (
    <Box mb="xl">
      <Label variant="light">{label}</Label>
      <Code text={text} testId={`json-${property.path}`} />
    </Box>
  );
};

export default JsonView;
