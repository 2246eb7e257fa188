// The app's commands (src/client/controller.ts), handed to components through React context so that
// components never create workers themselves.
import { createContext, useContext } from 'react';
import type { Controller } from '../client/controller';

export const ControllerContext = createContext<Controller | null>(null);

export function useController(): Controller {
  const c = useContext(ControllerContext);
  if (!c) throw new Error('ControllerContext is missing: render the app inside <ControllerContext value={...}>.');
  return c;
}
