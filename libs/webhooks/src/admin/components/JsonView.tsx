import React from 'react';
import { Box, Label } from '@adminjs/design-system';
import { flat } from 'adminjs';
import { Code, pretty } from './badges';

/** A JSON value (or JSON text) pretty-printed; long values are cut for display. */
const JsonView = (props: any) => {
  const { record, property } = props;
  const value = flat.get(record?.params ?? {}, property.path);
  const text = pretty(value);
  return (
    <Box mb="xl">
      <Label>{property.label}</Label>
      {text ? <Code text={text} testId={`json-${property.path}`} /> : <span>—</span>}
    </Box>
  );
};

export default JsonView;
