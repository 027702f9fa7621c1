import { warnOfExpiry } from '../../shared/core/grants/tasks.ts'
import { taskHandler } from '../runtime/task-handler.ts'
import { expiryTask } from '../runtime/task-inputs.ts'

export const { raw, handler } = taskHandler(expiryTask, warnOfExpiry)
